"""Play waypoints out in real time: one thread, absolute deadlines, no catch-up bursts after a stall.

The generator thread pushes waypoints as the model produces them; the pacer publishes each one at the
time its plan says (`t_s` after the first), so the stream starts while generation is still running.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


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

    def __init__(
        self,
        on_waypoint: Callable[[TimedWaypoint, float], None],
        on_end: Callable[[StreamEnd, StreamTiming], None],
    ):
        self._on_waypoint = on_waypoint
        self._on_end = on_end
        self._queue: queue.Queue[TimedWaypoint | StreamEnd] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="waypoint-pacer", daemon=True)
        self._thread.start()

    def put(self, item: TimedWaypoint | StreamEnd) -> None:
        self._queue.put(item)

    def close(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        previous: TimedWaypoint | None = None
        due = 0.0  # monotonic time the previous waypoint was due
        timing = StreamTiming()
        while not self._stop.is_set():
            try:
                item, waited = self._queue.get_nowait(), False
            except queue.Empty:
                try:
                    item, waited = self._queue.get(timeout=0.1), True
                except queue.Empty:
                    continue
            if isinstance(item, StreamEnd):
                self._on_end(item, timing)
                previous, timing = None, StreamTiming()
                continue
            now = time.monotonic()
            if previous is None:
                due = now
            else:  # a waypoint planned too late goes out now and shifts the rest of the schedule
                planned = due + item.t_s - previous.t_s
                timing.starved += waited and planned < now
                due = max(planned, now)
            if self._stop.wait(max(0.0, due - now)):
                return
            timing.worst_late_s = max(timing.worst_late_s, time.monotonic() - due)
            self._on_waypoint(item, time.time() + (due - time.monotonic()))
            previous = item
