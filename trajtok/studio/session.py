"""One Write request: `Writer.stream` in a worker thread, its steps turned into smoothed ink for the page.

The model runs off the event loop, in its own thread, so a long phrase never holds up other clients; the
thread checks a stop flag between steps, so a client that goes away stops its generation at the next step.
Steps reach the loop in batches (whatever is ready when the loop looks), which keeps the hand-over cost per
step small next to the step itself.

The page draws the same curve as the pictures (`trajtok.strokes.smooth_stroke`, centripetal Catmull-Rom).
A segment of that curve depends on the point after it, so `InkSmoother` sends each segment once it is final
and, until then, the stroke's provisional last segment (its `tail`), which the page redraws.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from trajtok.generate import Writer
from trajtok.sample import Sample
from trajtok.strokes import SMOOTH_STEP, smooth_stroke
from trajtok.token_sampler import Sampling

DUPLICATE = 1e-12  # smooth_stroke drops a point this close to the one before it; so do we


@dataclass
class InkUpdate:
    """What changed in one stroke: points appended for good, and its provisional end (replaced each time)."""

    stroke: int
    final: list[np.ndarray] = field(default_factory=list)  # (N_i, 2) pieces
    tail: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def as_json(self) -> dict:
        final = np.concatenate(self.final) if self.final else np.zeros((0, 2))
        return {
            "stroke": self.stroke,
            "final": np.round(final, 3).tolist(),
            "tail": np.round(self.tail, 3).tolist(),
        }


class InkSmoother:
    """Absolute pen points (handwriting units) in, one at a time -> InkUpdates of the smoothed strokes."""

    def __init__(self, step: float = SMOOTH_STEP):
        self.step = step
        self.stroke = 0
        self.raw: list[np.ndarray] = []  # the current stroke's points, duplicates dropped
        self.tail = np.zeros((0, 2))  # the current stroke's provisional last segment

    def add(self, xy: np.ndarray, pen_lift: bool, update: InkUpdate | None) -> InkUpdate:
        """Add one point to `update` (the running update of this stroke, or None to start one)."""
        if update is None or update.stroke != self.stroke:
            update = InkUpdate(self.stroke)
        if not self.raw or np.hypot(*(xy - self.raw[-1])) > DUPLICATE:
            self.raw.append(np.asarray(xy, dtype=np.float64))
            if len(self.raw) == 1:
                update.final.append(self.raw[0][None])
            elif len(self.raw) == 2:
                self.tail = self.raw[1][None]
            else:
                done, self.tail = self._last_two_segments()
                update.final.append(done)
        if pen_lift:
            update.final.append(self.tail)
            self.stroke, self.raw, self.tail = self.stroke + 1, [], np.zeros((0, 2))
        update.tail = self.tail
        return update

    def _last_two_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The segment that just became final and the provisional last one, as smooth_stroke draws them in
        the whole stroke: segment i depends on points i-1 .. i+2 only, so the last four points suffice."""
        window = np.array(self.raw[-4:])
        curve = smooth_stroke(window, self.step)
        lengths = np.hypot(*np.diff(window, axis=0).T)
        counts = np.maximum(1, np.ceil(lengths / self.step).astype(int))  # points per segment
        last, before = counts[-1], counts[-2]
        return curve[len(curve) - last - before : len(curve) - last], curve[len(curve) - last :]


class WriteSession:
    """Generates one phrase in a worker thread; `batches()` yields the steps as they come, on the loop."""

    def __init__(self, writer: Writer, text: str, sampling: Sampling, prime: Sample | None):
        self.writer, self.text, self.sampling, self.prime = writer, text, sampling, prime
        self.stop = threading.Event()
        self.error: str | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._done = False
        self._lock = threading.Lock()
        self._signalled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self.thread = threading.Thread(target=self._run, name="trajtok-studio-write", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.thread.start()

    def _run(self) -> None:
        steps = self.writer.stream(self.text, self.sampling, prime=self.prime)
        try:
            for step in steps:
                if self.stop.is_set():
                    break
                self._push(step)
        except Exception as exc:  # a model error reaches the page as an error event, the server goes on
            self.error = f"generation failed: {exc}"
        finally:
            steps.close()
            self._push(None)

    def _push(self, step: tuple[np.ndarray, np.ndarray] | None) -> None:
        with self._lock:
            if step is None:
                self._done = True
            else:
                self._pending.append(step)
            wake, self._signalled = not self._signalled, True
        if wake:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def batches(self) -> AsyncIterator[list[tuple[np.ndarray, np.ndarray]]]:
        """Lists of (deltas (D,), events (E,)) steps until the phrase ends; stop() ends it early."""
        while True:
            await self._wake.wait()
            with self._lock:
                steps, done, self._pending = self._pending, self._done, []
                self._wake.clear()
                self._signalled = False
            if steps:
                yield steps
            if done:
                return
