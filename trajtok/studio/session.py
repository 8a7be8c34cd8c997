"""One Write request: `Writer.stream` in a worker thread, its steps turned into smoothed ink for the page.

The model runs off the event loop, in its own thread, so a long phrase never holds up other clients; the
thread checks a stop flag between steps, so a client that goes away stops its generation at the next step.
Steps reach the loop in batches: the first step at once (the first ink is what a person waits for), then
whatever is ready, at most once a frame (BATCH_INTERVAL_S), which keeps the hand-over, smoothing and sending
cost per step small next to the step itself.

A model trained on lines stitched from single words writes a line word by word (trajtok.word_layout, as
`trajtok write` does by default for it): the first word streams as it is written, each later word once it
is done.

The page draws the same curve as the pictures (`trajtok.strokes.smooth_stroke`, centripetal Catmull-Rom).
A segment of that curve depends on the point after it, so `InkSmoother` sends each segment once it is final
and, until then, the stroke's provisional last segment (its `tail`), which the page redraws.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from trajtok.generate import Writer
from trajtok.page_lines import StackedSteps, Step
from trajtok.sample import Sample
from trajtok.sampling import Sampling
from trajtok.strokes import SMOOTH_STEP, smooth_stroke
from trajtok.word_layout import WordByWordStream, line_words

DUPLICATE = 1e-12  # smooth_stroke drops a point this close to the one before it; so do we
BATCH_INTERVAL_S = 1 / 60  # after a batch, the next one waits this long: a page draws once a frame anyway


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
    """Absolute pen points (handwriting units) in, a batch at a time -> InkUpdates of the smoothed strokes."""

    def __init__(self, step: float = SMOOTH_STEP):
        self.step = step
        self.stroke = 0
        self.raw: list[np.ndarray] = []  # the current stroke's points, duplicates dropped
        self.tail = np.zeros((0, 2))  # the current stroke's provisional last segment

    def add(self, xy: np.ndarray, pen_lift: np.ndarray) -> list[InkUpdate]:
        """Points (K, 2) with their pen lifts (K,) -> one update per stroke they touch."""
        updates = []
        ends = np.flatnonzero(pen_lift)
        for run in np.split(np.arange(len(xy)), ends + 1):  # runs of points that end with a lift, or not
            if not len(run):
                continue
            update = InkUpdate(self.stroke)
            self._extend(xy[run], update)
            if pen_lift[run[-1]]:
                update.final.append(self.tail)
                self.stroke, self.raw, self.tail = self.stroke + 1, [], np.zeros((0, 2))
            update.tail = self.tail
            updates.append(update)
        return updates

    def _extend(self, points: np.ndarray, update: InkUpdate) -> None:
        """Add one stroke's next points; the segments that became final go to `update`.

        Segment j (raw[j] -> raw[j + 1]) depends on raw[j - 1 .. j + 2] only (smooth_stroke reflects the
        stroke's end points), so it is final once raw[j + 2] exists, and a window from raw[j - 1] draws it
        as the whole stroke would."""
        m = len(self.raw)
        for point in points:
            if not self.raw or np.hypot(*(point - self.raw[-1])) > DUPLICATE:
                self.raw.append(np.asarray(point, dtype=np.float64))
        n = len(self.raw)
        if m == 0 and n:
            update.final.append(self.raw[0][None])
        if n < 3:  # one segment at most: a straight line, as smooth_stroke draws it
            self.tail = np.array(self.raw[1:]).reshape(-1, 2)
            return
        if n == m:
            return
        first = max(0, m - 2)  # the first segment not yet final
        window = np.array(self.raw[max(0, first - 1) :])
        curve = smooth_stroke(window, self.step)
        counts = np.maximum(1, np.ceil(np.hypot(*np.diff(window, axis=0).T) / self.step).astype(int))
        starts = np.concatenate([[1], 1 + np.cumsum(counts)])  # where each window segment begins in curve
        skip = 1 if first > 0 else 0  # the window's first segment only leads into the segments we need
        update.final.append(curve[starts[skip] : starts[-2]])
        self.tail = curve[starts[-2] :]


class FirstStepsFirst:
    """Running generations pause between their steps while a new one computes its first step: the person
    who just pressed Write waits for the first ink; the others are mid-phrase and lose a few milliseconds.
    New ones compute their first steps one at a time (in turn, not all slowly at once), and a pause lasts
    at most MAX_PAUSE_S, so a stream of new requests cannot starve the running ones."""

    MAX_PAUSE_S = 0.1

    def __init__(self):
        self._starting = 0
        self._changed = threading.Condition()
        self._first_step = threading.Lock()

    def starting(self) -> None:
        with self._changed:
            self._starting += 1
        self._first_step.acquire()

    def started(self) -> None:
        self._first_step.release()
        with self._changed:
            self._starting -= 1
            self._changed.notify_all()

    def wait_turn(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._starting == 0, self.MAX_PAUSE_S)


class WriteSession:
    """Generates one phrase in a worker thread; `batches()` yields the steps as they come, on the loop.

    A phrase longer than the model's lines is written as several (`Writer.lines`), one below the other
    (trajtok.page_lines); the steps are the page's."""

    def __init__(
        self,
        writer: Writer,
        text: str,
        lines: list[str],
        sampling: Sampling,
        prime: Sample | None,
        turns: FirstStepsFirst,
        word_by_word: bool = False,
    ):
        """`lines`: `text` as the lines it is written on (`Writer.lines`); `word_by_word`: each line's words
        written apart and laid out (trajtok.word_layout), the gaps drawn from the sampling seed."""
        self.writer, self.text, self.sampling, self.prime, self.turns = writer, text, sampling, prime, turns
        self.lines = lines
        self.word_by_word = word_by_word
        apart = [p for line in lines for p in (line_words(line) if word_by_word else [line])]
        self.budgets = [writer.phrase_limit(p, sampling, prime) for p in apart]  # each piece written apart
        self.laid_out: list[WordByWordStream] = []
        self.stacked = StackedSteps()
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
        self.turns.starting()
        first = True
        steps = self.stacked.lines(self._line_streams())
        try:
            for step in steps:
                if self.stop.is_set():
                    break
                self._push(step)
                if first:
                    self.turns.started()
                    first = False
                self.turns.wait_turn()
        except Exception as exc:  # a model error reaches the page as an error event, the server goes on
            self.error = f"generation failed: {exc}"
        finally:
            if first:
                self.turns.started()
            steps.close()
            self._push(None)

    def _line_streams(self) -> Iterator[Iterable[Step]]:
        rng = np.random.default_rng(self.sampling.seed)
        for line in self.lines:
            if not self.word_by_word:
                yield self._stream(line)
                continue
            laid_out = WordByWordStream(self._stream, line_words(line), rng)
            self.laid_out.append(laid_out)
            yield laid_out

    def _stream(self, text: str) -> Iterator[Step]:
        return self.writer.stream(text, self.sampling, prime=self.prime)

    @property
    def words(self) -> list[Sample]:
        """Word by word: each word as written, from its own origin; [] for lines written whole."""
        return [word for line in self.laid_out for word in line.words]

    @property
    def ended(self) -> bool:
        """Every line (word by word: every word) ended before its step limit (call once generation is
        done)."""
        written = [len(w) for w in self.words] if self.word_by_word else self.stacked.steps_of
        return len(written) == len(self.budgets) and all(
            n < b for n, b in zip(written, self.budgets, strict=True)
        )

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
        """Lists of (deltas (D,), events (E,)) steps until the phrase ends; setting `stop` ends it early."""
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
            await asyncio.sleep(BATCH_INTERVAL_S)
