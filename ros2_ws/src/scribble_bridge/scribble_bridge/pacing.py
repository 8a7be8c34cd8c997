"""Play waypoints out in real time: one thread, absolute deadlines, no catch-up bursts after a stall.

The generator thread pushes waypoints as the model produces them; the pacer publishes each one at the
time its plan says (`t_s` after the first), so the stream starts while generation is still running.
`interrupt` stops a request's stream at once (a canceled goal): whatever of it is queued or still to
come is dropped, and what the interrupt hands back (a lift-off, then the end) goes out in its place.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

QUEUE_POLL_S = 0.1  # how long the pacer waits for a waypoint before it looks at `close` again
_WAKE = object()  # queued by `interrupt` and `close`: a pacer waiting for waypoints looks at once


@dataclass(frozen=True)
class TimedWaypoint:
    request_id: int
    index: int  # position in this request's plan, from 0
    t_s: float  # planned time since the request's first waypoint
    xyz_m: np.ndarray  # (3,) in frame_id
    frame_id: str


@dataclass(frozen=True)
class StreamEnd:
    request_id: int
    n_waypoints: int
    error: str | None = None  # why the stream stopped early, None when the plan is complete


@dataclass
class StreamTiming:
    """How well a stream kept its schedule."""

    starved: int = 0  # waypoints that were not planned yet when due (the generator fell behind)
    worst_late_s: float = 0.0  # the longest a waypoint went out after it was due (the thread woke late)


class WaypointPacer:
    """Publish queued TimedWaypoints on schedule and report each StreamEnd after the waypoints before it.

    `on_waypoint(waypoint, stamp_s)` gets the wall-clock time the waypoint is due (time.time() seconds);
    `on_end(end, timing)` runs once the last waypoint of that request is out.
    """

    Replacement = Callable[[TimedWaypoint | None], list[TimedWaypoint | StreamEnd]]

    def __init__(
        self,
        on_waypoint: Callable[[TimedWaypoint, float], None],
        on_end: Callable[[StreamEnd, StreamTiming], None],
    ):
        self._on_waypoint = on_waypoint
        self._on_end = on_end
        self._queue: queue.Queue[TimedWaypoint | StreamEnd | object] = queue.Queue()
        self._stop = threading.Event()
        self._wake = threading.Event()  # an interrupt came: stop waiting for the next due time
        self._interrupts: queue.Queue[tuple[int, WaypointPacer.Replacement]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="waypoint-pacer", daemon=True)
        self._thread.start()

    def put(self, item: TimedWaypoint | StreamEnd) -> None:
        self._queue.put(item)

    def interrupt(self, request_id: int, replacement: WaypointPacer.Replacement) -> None:
        """Drop the rest of request `request_id` and publish `replacement(last waypoint out of it, or None)`
        instead: its waypoints continue that one's schedule, and it should end with the StreamEnd."""
        self._interrupts.put((request_id, replacement))
        self._wake.set()
        self._queue.put(_WAKE)  # the generator may be behind: the pacer then waits on the queue

    def close(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._queue.put(_WAKE)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        previous: TimedWaypoint | None = None
        due = 0.0  # monotonic time the previous waypoint was due
        timing = StreamTiming()
        dropped: set[int] = set()  # interrupted requests: anything more of theirs from the queue is dropped
        injected: deque[TimedWaypoint | StreamEnd] = deque()  # replacements, served before the queue
        item: TimedWaypoint | StreamEnd | None = None  # the item waiting for its due time
        while not self._stop.is_set():
            while not self._interrupts.empty():
                request_id, replacement = self._interrupts.get()
                dropped.add(request_id)
                last = previous if previous is not None and previous.request_id == request_id else None
                injected.extend(replacement(last))
                if item is not None and item.request_id == request_id:
                    item = None
            self._wake.clear()
            waited = False
            if item is None and injected:
                item = injected.popleft()
            elif item is None:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    try:
                        item, waited = self._queue.get(timeout=QUEUE_POLL_S), True
                    except queue.Empty:
                        continue
                if item is _WAKE:
                    item = None
                    continue
                if item.request_id in dropped:
                    item = None
                    continue
            if isinstance(item, StreamEnd):
                end, item = item, None
                self._on_end(end, timing)
                previous, timing = None, StreamTiming()
                continue
            now = time.monotonic()
            if previous is None:
                due = now
            else:  # a waypoint planned too late goes out now and shifts the rest of the schedule
                planned = due + item.t_s - previous.t_s
                timing.starved += waited and planned < now
                due = max(planned, now)
            if self._wake.wait(max(0.0, due - now)):
                continue  # an interrupt (or close): handle it first; `item` still waits unless dropped
            timing.worst_late_s = max(timing.worst_late_s, time.monotonic() - due)
            self._on_waypoint(item, time.time() + (due - time.monotonic()))
            previous, item = item, None
