"""Strokes (handwriting units) -> timed pen-tip waypoints on a vertical board (metres, world frame).

Shared by the PyBullet whiteboard (`trajtok_sim`) and the ROS 2 writer node, so nothing here imports a
simulator. The plan, in order of the moves the pen makes:

- words: the words the points declare, else strokes split at pen-up jumps to the right
  (trajtok.word_segmenter);
- layout: words go on lines from the start point; a word that would cross the right margin wraps to the next
  line. Points that leave the writable area (board minus margins) or the arm's reach are refused with a
  ValueError, or everything shrinks to fit (`fit="scale"`);
- moves: approach (descend along the board normal onto the first stroke), each stroke on the surface (the
  smooth curve through its points, `smooth=True`), a lift
  along the normal by the pen-up clearance, a lifted travel to the next stroke, a descent, ..., and a retract;
- timing: trajtok.motion_profile (rest-to-rest moves within the speed and acceleration limits).

`WaypointPlanner` does the same incrementally, releasing each move as soon as its stroke's place on the board
is known (the approach with the very first point); `plan_waypoints` is the planner fed everything at once, so
the two give the same waypoints.
"""

from __future__ import annotations

import numpy as np

from trajtok.board import BoardConfig
from trajtok.motion_profile import MoveTimer, Waypoints
from trajtok.strokes import SMOOTH_STEP, smooth_stroke
from trajtok.word_segmenter import UNKNOWN_WORD, WordSegmenter

SCALE_STEP = 0.95  # fit="scale" shrinks the letter height by this factor until the text fits
MIN_SCALE = 0.05


def plan_waypoints(
    points: np.ndarray, board: BoardConfig, resample: bool = True, words: np.ndarray | None = None
) -> Waypoints:
    """(T, 3) absolute [x, y, pen_lift] in handwriting units -> timed waypoints on the board.

    resample=True: one waypoint per control tick (`board.control_rate_hz`); False: one per path vertex.
    `words` (T,): the word each point is of, where the writer knows it (-1 where not; None: nowhere), which
    decides where lines may wrap (trajtok.word_segmenter).
    Raises ValueError when a point lands outside the writable area or the arm's reach (fit="error").
    """
    planner = WaypointPlanner(board, resample=resample)
    return Waypoints.concatenate([planner.feed(points, words), planner.finish()])


class WaypointPlanner:
    """Streaming `plan_waypoints`: feed points (or decoded deltas) as they come, collect waypoints.

    Every move starts and ends at rest, so a move's waypoints depend only on the moves before it: each is
    released as soon as its stroke's place on the board is known, and the stream equals the batch plan.
    A stroke's head (approach or lifted travel, then the descent) goes out with its first point, its body
    (pen-down path, then the lift) with its last. A stroke's place is known at once for the first word
    (it never wraps) and with `wrap=False`; a later word can wrap, which needs its whole extent, so its
    strokes wait until its end is decided (WORD_LOOKAHEAD strokes past it, or `finish`). With fit="scale"
    everything waits for `finish`.

    Every point is checked (board, reach) before a move that reaches it is released; a refused point raises
    ValueError, and `abort` then hands back what was planned before it plus a retract off the board.
    """

    def __init__(self, board: BoardConfig, resample: bool = True):
        self.board = board
        self.resample = resample
        self._origin, self._u, self._v, self._n = board.axes()
        self._last_xy = np.zeros(2)  # running absolute position for feed_deltas
        self._words = WordSegmenter(board.wrap, board.word_gap)
        # release: the layout's current word, the next stroke to write, whether its head is out
        self._layout = _Layout(board, board.letter_height_m)
        self._layout_word = -1
        self._next_stroke = 0
        self._head_released = False
        self._timer = MoveTimer(board, resample)
        self._pen_uv: np.ndarray | None = None  # board point under the pen after the released moves
        self._pen_height_m = 0.0  # and the pen's height off the surface there
        self._pending: list[Waypoints] = []  # planned, not yet handed out
        self._retracted = False

    def feed(self, points: np.ndarray, words: np.ndarray | None = None) -> Waypoints:
        """(K, 3) absolute [x, y, pen_lift] points, continuing what was fed before; `words` (K,) as for
        `plan_waypoints`."""
        points = _check_points(points)
        words = _check_words(words, len(points))
        if self._words.done:
            raise ValueError("waypoint planner: points fed after finish() or abort(); start a new planner")
        for (x, y, lift), word in zip(points, words, strict=True):
            self._words.add_point(np.array([x, y]), lift > 0.5, word)
            self._release()
        if len(points):
            self._last_xy = points[-1, :2].astype(float)
        return self._take()

    def feed_deltas(
        self, deltas: np.ndarray, pen_lift: np.ndarray, words: np.ndarray | None = None
    ) -> Waypoints:
        """(K, 2) deltas + (K,) pen lifts (decoded steps), integrated from where the last feed ended."""
        deltas = np.asarray(deltas, dtype=float).reshape(-1, 2)
        points = np.empty((len(deltas), 3))
        points[:, :2] = self._last_xy + np.cumsum(deltas, axis=0)
        points[:, 2] = np.asarray(pen_lift, dtype=bool).reshape(-1)
        return self.feed(points, words)

    def finish(self) -> Waypoints:
        """End of input: plan what is left and retract the pen."""
        if self._retracted:
            return Waypoints.empty()
        self._words.finish()
        if self.board.fit == "scale" and self._words.strokes:
            self._layout = self._fitting_layout()
        self._release()
        self._retract()
        return self._take()

    def abort(self) -> Waypoints:
        """Stop early (after a refusal from feed/finish, or to cancel): the waypoints planned before the
        refused point that were not handed out yet, then a retract along the normal to `approach_m` from
        wherever the waypoints handed out so far leave the pen (at rest: every move ends at rest)."""
        if self._retracted:
            return Waypoints.empty()
        self._words.done = True
        self._retract()
        return self._take()

    # -- layout ------------------------------------------------------------------------------------------

    def _start_word(self, layout: _Layout, word: int) -> bool:
        """Begin `word` on `layout` (wrapping it if it overflows); False while its extent is needed but
        not known yet."""
        extent = None
        if layout.needs_extent:
            extent = self._words.word_extent(word)
            if extent is None:
                return False
        layout.start_word(extent)
        return True

    def _fitting_layout(self) -> _Layout:
        """fit="scale": the layout at the largest letter height (shrinking by SCALE_STEP) that keeps every
        point on the board and within reach. The whole text is known here, so the room kept above and left
        of the first line grows to what its ink takes (shrinking alone would never bring a letter taller
        than `ascender` under the top margin, as the start moves down with the letter height)."""
        words = self._words
        ascender = max(self.board.ascender, max(float(s[:, 1].max()) for s in words.strokes))
        lead = max(self.board.lead, -min(float(s[:, 0].min()) for s in words.word_strokes(0)))
        scale = 1.0
        while True:
            layout = _Layout(self.board, self.board.letter_height_m * scale, ascender, lead)
            try:
                for word in range(len(words.word_starts)):
                    self._start_word(layout, word)
                    for stroke in words.word_strokes(word):
                        self._check_reach(layout.place(stroke))
                return _Layout(self.board, layout.h, ascender, lead)
            except PlacementError as exc:
                scale *= SCALE_STEP
                if scale < MIN_SCALE:
                    raise PlacementError(
                        f"text does not fit even at {MIN_SCALE:.0%} of letter_height_m ({exc.fact})",
                        "move start_uv_m, or the board closer to the arm",
                    ) from None

    # -- release: moves whose place is known -------------------------------------------------------------

    def _release(self) -> None:
        """Plan the moves of the next strokes in order, as far as their place on the board is known."""
        words = self._words
        if self.board.fit == "scale" and not words.done:
            return
        while self._next_stroke < words.n_segmented:
            k = self._next_stroke
            next_word = self._layout_word + 1
            if next_word < len(words.word_starts) and k == words.word_starts[next_word]:
                if not self._start_word(self._layout, next_word):
                    return
                self._layout_word = next_word
            if k == len(words.strokes):  # the open stroke: its head only
                if not self._head_released:
                    self._write_head(words.open_stroke[0][None])
                    self._head_released = True
                return
            stroke = words.strokes[k]
            if not self._head_released:
                self._write_head(stroke[:1])
            self._write_body(stroke)
            self._next_stroke, self._head_released = k + 1, False

    def _write_head(self, first_xy: np.ndarray) -> None:
        """(1, 2) first point of a stroke: the approach (very first stroke) or a lifted travel, then the
        descent onto it."""
        uv = self._layout.place(first_xy, count=False)[0]
        self._check_reach(uv[None])
        clearance = self.board.pen_up_clearance_m
        if self._pen_uv is None:
            self._move(self._along_normal(uv, self.board.approach_m, 0.0), False)
        else:
            travel = self._on_surface(np.array([self._pen_uv, uv])) + clearance * self._n
            self._move(travel, False, self.board.travel_speed_mps)
            self._move(self._along_normal(uv, clearance, 0.0), False)
        self._pen_uv, self._pen_height_m = uv, 0.0

    def _write_body(self, stroke: np.ndarray) -> None:
        """(N, 2) a whole stroke: the pen-down path (the smooth curve through it), then the lift by the
        clearance."""
        uv = self._layout.place(stroke)
        if self.board.smooth:  # the curve bulges past its points by a hair at most: keep it on the board
            curve = smooth_stroke(uv, SMOOTH_STEP * self._layout.h)
            u_min, u_max, v_min, v_max = self.board.writable_uv_m()
            uv = np.clip(curve, (u_min, v_min), (u_max, v_max))
        self._check_reach(uv)
        clearance = self.board.pen_up_clearance_m
        self._move(self._on_surface(uv), True)
        self._move(self._along_normal(uv[-1], 0.0, clearance), False)
        self._pen_uv, self._pen_height_m = uv[-1], clearance

    def _retract(self) -> None:
        self._retracted = True
        if self._pen_uv is not None:
            self._move(self._along_normal(self._pen_uv, self._pen_height_m, self.board.approach_m), False)
            self._pending.append(self._timer.stop())

    def _move(self, xyz: np.ndarray, pen_down: bool, speed: float | None = None) -> None:
        self._pending.append(self._timer.move(xyz, pen_down, speed))

    def _take(self) -> Waypoints:
        out, self._pending = Waypoints.concatenate(self._pending), []
        return out

    def _on_surface(self, uv: np.ndarray) -> np.ndarray:
        return self._origin + uv[:, :1] * self._u + uv[:, 1:2] * self._v

    def _along_normal(self, uv: np.ndarray, from_m: float, to_m: float) -> np.ndarray:
        """(2, 3): a move above board point uv (2,) from `from_m` to `to_m` off the surface."""
        surface = self._on_surface(np.asarray(uv, dtype=float)[None])
        return np.vstack([surface + from_m * self._n, surface + to_m * self._n])

    def _check_reach(self, uv: np.ndarray) -> None:
        """(N, 2) board points: on the surface and `approach_m` off it, all within the arm's reach."""
        center = np.asarray(self.board.reach_center_m, dtype=float)
        surface = self._on_surface(uv)
        for xyz in (surface, surface + self.board.approach_m * self._n):
            dist = np.linalg.norm(xyz - center, axis=1)
            worst = int(np.argmax(dist))
            if dist[worst] > self.board.reach_max_m:
                u, v = uv[worst]
                raise PlacementError(
                    f"board point u={u:.3f} m, v={v:.3f} m (world {np.round(xyz[worst], 3).tolist()}) is "
                    f"{dist[worst]:.3f} m from the arm's shoulder, "
                    f"beyond reach_max_m={self.board.reach_max_m}",
                    "lower letter_height_m, move start_uv_m or the board closer, or use fit=scale",
                )


class PlacementError(ValueError):
    """Strokes would leave the writable board area or the arm's reach: what happened; what to change."""

    def __init__(self, fact: str, remedy: str):
        super().__init__(f"{fact}; {remedy}")
        self.fact = fact


class _Layout:
    """Places words (strokes in handwriting units) on lines: handwriting -> board (u, v) metres."""

    def __init__(
        self,
        board: BoardConfig,
        letter_height_m: float,
        ascender: float | None = None,
        lead: float | None = None,
    ):
        self.board = board
        self.h = letter_height_m
        self.u_min, self.u_max, self.v_min, self.v_max = board.writable_uv_m()
        self.start_u, self.start_v = board.first_baseline_uv_m(letter_height_m, ascender, lead)
        self.line = 0
        self.x_shift = 0.0  # handwriting x that lands on start_u on the current line
        self.words_on_line = 0
        self.n_points = 0  # points placed so far, to name an offending one

    @property
    def needs_extent(self) -> bool:
        """Whether the next word may wrap, so `start_word` needs its extent (the first word never wraps)."""
        return self.board.wrap and self.words_on_line > 0

    def start_word(self, x_range: tuple[float, float] | None) -> None:
        """Begin a word spanning handwriting x in x_range (None when not `needs_extent`): it goes to the
        next line, starting at the left margin, if it would cross the right one."""
        if self.needs_extent:
            x_min, x_max = x_range
            if self.start_u + (x_max - self.x_shift) * self.h > self.u_max:
                self.line += 1
                self.x_shift = x_min
                self.words_on_line = 0
        self.words_on_line += 1

    def place(self, stroke: np.ndarray, count: bool = True) -> np.ndarray:
        """(N, 2) points of the current word, handwriting units -> (N, 2) board (u, v) metres, checked to
        lie on the writable area. count=False: a look ahead at points that will be placed again."""
        uv = np.empty_like(stroke, dtype=float)
        uv[:, 0] = self.start_u + (stroke[:, 0] - self.x_shift) * self.h
        uv[:, 1] = self.start_v + (stroke[:, 1] - self.line * self.board.line_spacing) * self.h
        self._check_on_board(stroke, uv)
        if count:
            self.n_points += len(stroke)
        return uv

    def _check_on_board(self, stroke: np.ndarray, uv: np.ndarray) -> None:
        slack = 1e-6  # a micron: points often arrive as float32
        outside = (
            (uv[:, 0] < self.u_min - slack)
            | (uv[:, 0] > self.u_max + slack)
            | (uv[:, 1] < self.v_min - slack)
            | (uv[:, 1] > self.v_max + slack)
        )
        if outside.any():
            i = int(np.argmax(outside))
            why = ""
            if self.line > 0 and uv[i, 1] < self.v_min:  # wrapped past the bottom: too much text
                room = int((self.start_v - self.v_min) // (self.board.line_spacing * self.h)) + 1
                why = f" (the text runs to line {self.line + 1}; the board has room for {room})"
            elif self.board.wrap and self.words_on_line == 1 and uv[i, 0] > self.u_max:
                room = (self.u_max - self.start_u) / self.h
                why = f" (a word wider than a line, which holds {room:.1f} units; lines wrap between words)"
            raise PlacementError(
                f"point {self.n_points + i} (x={stroke[i, 0]:.2f}, y={stroke[i, 1]:.2f} handwriting units) "
                f"lands at u={uv[i, 0]:.3f} m, v={uv[i, 1]:.3f} m, outside the writable board area "
                f"u in [{self.u_min:.3f}, {self.u_max:.3f}], v in [{self.v_min:.3f}, {self.v_max:.3f}]" + why,
                f"lower letter_height_m (now {self.h:.4g}), move start_uv_m, or use fit=scale",
            )


def _check_words(words: np.ndarray | None, n: int) -> np.ndarray:
    if words is None:
        return np.full(n, UNKNOWN_WORD, dtype=np.int64)
    words = np.asarray(words)
    if words.shape != (n,) or not np.issubdtype(words.dtype, np.integer) or (words < UNKNOWN_WORD).any():
        raise ValueError(
            f"strokes: words must be ({n},) integers, each >= {UNKNOWN_WORD} (unknown), one per point; "
            f"got {words.dtype} {words.shape}"
        )
    return words


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"strokes: expected points of shape (T, 3) [x, y, pen_lift], got {points.shape}")
    if not np.isfinite(points).all():
        bad = int(np.argmax(~np.isfinite(points).all(axis=1)))
        raise ValueError(f"strokes: point {bad} is not finite ({points[bad].tolist()})")
    return points
