"""Strokes (handwriting units) -> timed pen-tip waypoints on a vertical board (metres, world frame).

Shared by the PyBullet whiteboard (`trajtok_sim`) and the ROS 2 writer node, so nothing here imports a
simulator. The plan, in order of the moves the pen makes:

- layout: words (groups of strokes split at pen-up jumps to the right) go on lines from the start point;
  a word that would cross the right margin wraps to the next line. Points that leave the writable area
  (board minus margins) or the arm's reach are refused with a ValueError, or everything shrinks to fit
  (`fit="scale"`).
- moves: approach (descend along the board normal onto the first stroke), each stroke on the surface, a lift
  along the normal by the pen-up clearance, a lifted travel to the next stroke, a descent, ..., and a retract.
- timing: every move starts and ends at rest. Along a move the speed follows trapezoids in arc length
  (acceleration limit), capped by the move's speed and slowed at corners so the velocity turns by at most
  `max_accel_mps2 / control_rate_hz` per control tick.

`WaypointPlanner` does the same incrementally, releasing each move as soon as its stroke's place on the board
is known (the approach with the very first point); `plan_waypoints` is the planner fed everything at once, so
the two give the same waypoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

WORD_LOOKAHEAD = 3  # strokes looked at past a pen-up jump to decide whether it is a gap between words
SCALE_STEP = 0.95  # fit="scale" shrinks the letter height by this factor until the text fits
MIN_SCALE = 0.05


@dataclass
class BoardConfig:
    """A vertical board facing the arm, and how handwriting is laid out and timed on it.

    Board frame: origin at the centre of the writing surface (`center_m`, world), u to the writer's right,
    v up, n out of the board towards the arm. `yaw_deg=0` faces -x: an arm at the origin looking along +x
    sees the board head-on.
    """

    width_m: float = 0.8
    height_m: float = 0.44
    center_m: tuple[float, float, float] = (0.5, 0.0, 0.5)
    yaw_deg: float = 0.0
    margin_m: float = 0.03
    letter_height_m: float = 0.04  # metres per handwriting unit (x-height ~ 1 unit)
    start_uv_m: tuple[float, float] | None = None  # first baseline's start (u, v); None = top-left
    ascender: float = 2.2  # handwriting units above the baseline kept inside the top margin (start=None)
    line_spacing: float = 3.2  # baseline to baseline, handwriting units
    wrap: bool = True
    word_gap: float = 0.8  # units of blank column between words (after a word, the next strokes start right)
    pen_up_clearance_m: float = 0.01  # pen-up travel this far off the surface, along the normal
    approach_m: float = 0.05  # first descent starts / final retract ends this far off the surface
    write_speed_mps: float = 0.05  # pen-down strokes, and the lifts and descents along the normal
    travel_speed_mps: float = 0.15  # lifted travel between strokes
    max_speed_mps: float = 0.25  # velocity limit: speeds above it are refused
    max_accel_mps2: float = 2.0
    control_rate_hz: float = 100.0  # waypoints are resampled at this rate
    dot_dwell_s: float = 0.1  # a stroke of zero length (a dot) holds the pen down this long
    reach_center_m: tuple[float, float, float] = (0.0, 0.0, 0.333)  # the arm's shoulder, world
    reach_max_m: float = 0.78  # waypoints farther than this from the shoulder are out of reach
    fit: Literal["error", "scale"] = "error"

    def __post_init__(self) -> None:
        positive = [
            "width_m",
            "height_m",
            "letter_height_m",
            "line_spacing",
            "pen_up_clearance_m",
            "approach_m",
            "write_speed_mps",
            "travel_speed_mps",
            "max_speed_mps",
            "max_accel_mps2",
            "control_rate_hz",
            "reach_max_m",
        ]
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"board config: {name} must be > 0, got {getattr(self, name)}")
        for name in ("write_speed_mps", "travel_speed_mps"):
            if getattr(self, name) > self.max_speed_mps:
                raise ValueError(
                    f"board config: {name}={getattr(self, name)} exceeds max_speed_mps={self.max_speed_mps}; "
                    "lower it or raise the limit"
                )
        if self.margin_m < 0 or 2 * self.margin_m >= min(self.width_m, self.height_m):
            raise ValueError(f"board config: margin_m={self.margin_m} leaves no writable area")
        if self.approach_m < self.pen_up_clearance_m:
            raise ValueError("board config: approach_m must be >= pen_up_clearance_m")
        if self.fit not in ("error", "scale"):
            raise ValueError(f"board config: fit must be 'error' or 'scale', got {self.fit!r}")

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """World vectors (origin, u, v, n) of the board frame, each (3,)."""
        yaw = math.radians(self.yaw_deg)
        u = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        v = np.array([0.0, 0.0, 1.0])
        n = np.array([-math.cos(yaw), -math.sin(yaw), 0.0])
        return np.asarray(self.center_m, dtype=float), u, v, n

    def writable_uv_m(self) -> tuple[float, float, float, float]:
        """(u_min, u_max, v_min, v_max) of the board minus its margins."""
        half_w, half_h = self.width_m / 2 - self.margin_m, self.height_m / 2 - self.margin_m
        return -half_w, half_w, -half_h, half_h

    def first_baseline_uv_m(self, letter_height_m: float) -> tuple[float, float]:
        if self.start_uv_m is not None:
            return float(self.start_uv_m[0]), float(self.start_uv_m[1])
        u_min, _, _, v_max = self.writable_uv_m()
        return u_min, v_max - self.ascender * letter_height_m

    def to_world(self, uvn_m: np.ndarray) -> np.ndarray:
        """(N, 3) board coordinates [u, v, n] (m) -> (N, 3) world positions."""
        origin, u, v, n = self.axes()
        return origin + uvn_m[:, :1] * u + uvn_m[:, 1:2] * v + uvn_m[:, 2:3] * n

    def to_board(self, xyz_m: np.ndarray) -> np.ndarray:
        """(N, 3) world positions -> (N, 3) board coordinates [u, v, n] (n > 0: off the surface)."""
        origin, u, v, n = self.axes()
        rel = np.asarray(xyz_m, dtype=float) - origin
        return np.stack([rel @ u, rel @ v, rel @ n], axis=-1)


@dataclass
class Waypoints:
    """Timed pen-tip targets: t_s (N,) seconds from the start, xyz_m (N, 3) world, pen_down (N,) bool."""

    t_s: np.ndarray
    xyz_m: np.ndarray
    pen_down: np.ndarray

    def __len__(self) -> int:
        return len(self.t_s)

    @classmethod
    def empty(cls) -> Waypoints:
        return cls(np.zeros(0), np.zeros((0, 3)), np.zeros(0, dtype=bool))

    @classmethod
    def concatenate(cls, parts: list[Waypoints]) -> Waypoints:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.t_s for p in parts]),
            np.concatenate([p.xyz_m for p in parts]),
            np.concatenate([p.pen_down for p in parts]),
        )

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1]) if len(self) else 0.0


def plan_waypoints(points: np.ndarray, board: BoardConfig, resample: bool = True) -> Waypoints:
    """(T, 3) absolute [x, y, pen_lift] in handwriting units -> timed waypoints on the board.

    resample=True: one waypoint per control tick (`board.control_rate_hz`); False: one per path vertex.
    Raises ValueError when a point lands outside the writable area or the arm's reach (fit="error").
    """
    planner = WaypointPlanner(board, resample=resample)
    return Waypoints.concatenate([planner.feed(points), planner.finish()])


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
        # input: closed strokes (N_i, 2) with their x ranges, and the stroke being received
        self._strokes: list[np.ndarray] = []
        self._stroke_x_min: list[float] = []
        self._stroke_x_max: list[float] = []
        self._open: list[np.ndarray] = []
        self._open_x_min = math.inf
        self._input_done = False
        # words: first stroke of each word; strokes before _n_segmented have a known word
        self._word_starts = [0]
        self._n_segmented = 0
        self._word_max_x = -math.inf  # rightmost x of the segmented word's strokes before _n_max_counted
        self._n_max_counted = 0
        # release: the layout's current word, the next stroke to write, whether its head is out
        self._layout = _Layout(board, board.letter_height_m)
        self._layout_word = -1
        self._next_stroke = 0
        self._head_released = False
        self._timer = _Timer(board, resample)
        self._pen_uv: np.ndarray | None = None  # board point under the pen after the released moves
        self._pen_height_m = 0.0  # and the pen's height off the surface there
        self._pending: list[Waypoints] = []  # planned, not yet handed out
        self._retracted = False

    def feed(self, points: np.ndarray) -> Waypoints:
        """(K, 3) absolute [x, y, pen_lift] points, continuing what was fed before."""
        points = _check_points(points)
        if self._input_done:
            raise ValueError("waypoint planner: points fed after finish() or abort(); start a new planner")
        for x, y, lift in points:
            self._add_point(np.array([x, y]), lift > 0.5)
        if len(points):
            self._last_xy = points[-1, :2].astype(float)
        return self._take()

    def feed_deltas(self, deltas: np.ndarray, pen_lift: np.ndarray) -> Waypoints:
        """(K, 2) deltas + (K,) pen lifts (decoded steps), integrated from where the last feed ended."""
        deltas = np.asarray(deltas, dtype=float).reshape(-1, 2)
        points = np.empty((len(deltas), 3))
        points[:, :2] = self._last_xy + np.cumsum(deltas, axis=0)
        points[:, 2] = np.asarray(pen_lift, dtype=bool).reshape(-1)
        return self.feed(points)

    def finish(self) -> Waypoints:
        """End of input: plan what is left and retract the pen."""
        if self._retracted:
            return Waypoints.empty()
        self._input_done = True
        if self._open:
            self._close_stroke()
        self._segment()
        if self.board.fit == "scale" and self._strokes:
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
        self._input_done = True
        self._retract()
        return self._take()

    # -- input: strokes and words ------------------------------------------------------------------------

    def _add_point(self, xy: np.ndarray, lift: bool) -> None:
        self._open.append(xy)
        self._open_x_min = min(self._open_x_min, float(xy[0]))
        if lift:
            self._close_stroke()
        self._segment()
        self._release()

    def _close_stroke(self) -> None:
        stroke = np.array(self._open)
        self._strokes.append(stroke)
        self._stroke_x_min.append(float(stroke[:, 0].min()))
        self._stroke_x_max.append(float(stroke[:, 0].max()))
        self._open, self._open_x_min = [], math.inf

    @property
    def _n_strokes(self) -> int:
        return len(self._strokes) + bool(self._open)

    def _segment(self) -> None:
        """Decide, stroke by stroke, whether each starts a new word, as soon as the input allows."""
        while self._n_segmented < self._n_strokes:
            k = self._n_segmented
            starts_word = k > 0 and self._starts_word(k)
            if starts_word is None:
                return
            if starts_word:
                self._word_starts.append(k)
                self._word_max_x, self._n_max_counted = -math.inf, k
            self._n_segmented += 1

    def _starts_word(self, k: int) -> bool | None:
        """Stroke k starts a new word if it and the next strokes (WORD_LOOKAHEAD in all) all lie right of the
        word so far by more than `word_gap`, a blank column (checking only stroke k would split words before
        letters drawn right to left, like a, d, q); None while that is still open. One point left of the
        column settles it (it continues the word); a new word needs all those strokes complete."""
        if not self.board.wrap:  # without wrapping, where words end changes nothing
            return False
        while self._n_max_counted < k:
            self._word_max_x = max(self._word_max_x, self._stroke_x_max[self._n_max_counted])
            self._n_max_counted += 1
        column = self._word_max_x + self.board.word_gap
        following = range(k, min(k + WORD_LOOKAHEAD, self._n_strokes))
        x_mins = [self._stroke_x_min[j] if j < len(self._strokes) else self._open_x_min for j in following]
        if min(x_mins) <= column:
            return False
        if self._input_done or (len(x_mins) == WORD_LOOKAHEAD and following[-1] < len(self._strokes)):
            return True
        return None

    def _start_word(self, layout: _Layout, word: int) -> bool:
        """Begin `word` on `layout` (wrapping it if it overflows); False while its extent is needed but
        not known yet."""
        extent = None
        if layout.needs_extent:
            start = self._word_starts[word]
            if word + 1 < len(self._word_starts):
                end = self._word_starts[word + 1]
            elif self._input_done:
                end = len(self._strokes)
            else:
                return False
            extent = min(self._stroke_x_min[start:end]), max(self._stroke_x_max[start:end])
        layout.start_word(extent)
        return True

    def _fitting_layout(self) -> _Layout:
        """fit="scale": the layout at the largest letter height (shrinking by SCALE_STEP) that keeps every
        point on the board and within reach."""
        scale = 1.0
        while True:
            layout = _Layout(self.board, self.board.letter_height_m * scale)
            try:
                for word, start in enumerate(self._word_starts):
                    self._start_word(layout, word)
                    end = self._word_starts[word + 1] if word + 1 < len(self._word_starts) else None
                    for stroke in self._strokes[start:end]:
                        self._check_reach(layout.place(stroke))
                return _Layout(self.board, layout.h)
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
        if self.board.fit == "scale" and not self._input_done:
            return
        while self._next_stroke < self._n_segmented:
            k = self._next_stroke
            next_word = self._layout_word + 1
            if next_word < len(self._word_starts) and k == self._word_starts[next_word]:
                if not self._start_word(self._layout, next_word):
                    return
                self._layout_word = next_word
            if k == len(self._strokes):  # the open stroke: its head only
                if not self._head_released:
                    self._write_head(self._open[0][None])
                    self._head_released = True
                return
            stroke = self._strokes[k]
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
        """(N, 2) a whole stroke: the pen-down path, then the lift by the clearance."""
        uv = self._layout.place(stroke)
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

    def __init__(self, board: BoardConfig, letter_height_m: float):
        self.board = board
        self.h = letter_height_m
        self.u_min, self.u_max, self.v_min, self.v_max = board.writable_uv_m()
        self.start_u, self.start_v = board.first_baseline_uv_m(letter_height_m)
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
            raise PlacementError(
                f"point {self.n_points + i} (x={stroke[i, 0]:.2f}, y={stroke[i, 1]:.2f} handwriting units) "
                f"lands at u={uv[i, 0]:.3f} m, v={uv[i, 1]:.3f} m, outside the writable board area "
                f"u in [{self.u_min:.3f}, {self.u_max:.3f}], v in [{self.v_min:.3f}, {self.v_max:.3f}]",
                f"lower letter_height_m (now {self.h:.4g}), move start_uv_m, or use fit=scale",
            )


class _Timer:
    """Time-parametrizes rest-to-rest moves one after another and samples them (on one global grid)."""

    def __init__(self, board: BoardConfig, resample: bool):
        self.board = board
        self.resample = resample
        self.dt = 1.0 / board.control_rate_hz
        self.t = 0.0  # end time of the last move
        self.next_tick = 0  # first grid index not yet emitted
        self.last_xyz: np.ndarray | None = None  # (3,) where the last move ended

    def move(self, xyz: np.ndarray, pen_down: bool, speed: float | None = None) -> Waypoints:
        """A rest-to-rest move through (K, 3) vertices, after the previous move."""
        profile = _Profile(
            _dedupe(xyz), speed or self.board.write_speed_mps, self.board.max_accel_mps2, self.dt
        )
        duration = profile.duration
        if pen_down and duration == 0:  # a dot: hold the pen on the board
            duration = self.board.dot_dwell_s
        t0 = self.t
        self.t = t0 + duration
        self.last_xyz = profile.xyz[-1]
        if not self.resample:
            times = profile.times if profile.duration else np.array([0.0, duration])
            xyz = profile.xyz if profile.duration else np.repeat(profile.xyz, 2, axis=0)
            return Waypoints(t0 + times, xyz, np.full(len(times), pen_down))
        last_tick = math.floor(self.t / self.dt + 1e-9)
        ticks = np.arange(self.next_tick, last_tick + 1)
        self.next_tick = last_tick + 1
        t_s = ticks * self.dt
        return Waypoints(t_s, profile.position_at(t_s - t0), np.full(len(ticks), pen_down))

    def stop(self) -> Waypoints:
        """After the last move: one more tick (resampled) so the waypoints end exactly where the pen stops."""
        if not self.resample or self.last_xyz is None or (self.next_tick - 1) * self.dt >= self.t - 1e-9:
            return Waypoints.empty()
        tick, self.next_tick = self.next_tick, self.next_tick + 1
        return Waypoints(np.array([tick * self.dt]), self.last_xyz[None].copy(), np.zeros(1, dtype=bool))


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"strokes: expected points of shape (T, 3) [x, y, pen_lift], got {points.shape}")
    if not np.isfinite(points).all():
        bad = int(np.argmax(~np.isfinite(points).all(axis=1)))
        raise ValueError(f"strokes: point {bad} is not finite ({points[bad].tolist()})")
    return points


def _dedupe(xyz: np.ndarray) -> np.ndarray:
    """Drop vertices that repeat the previous one (zero-length segments)."""
    keep = np.ones(len(xyz), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(xyz, axis=0), axis=1) > 1e-9
    return xyz[keep]


def _corner_speeds(xyz: np.ndarray, speed: float, jump: float, dt: float) -> np.ndarray:
    """(K,) speed allowed at each vertex: 0 at both ends; corners limited so velocity jumps stay small.

    Passing vertex i at speed v_i turns the velocity by v_i * |d_out - d_in| at once. The control-rate
    second difference around a tick weighs the jumps within one tick on either side, so each vertex is
    limited by the total turning near it (within 2 ticks of full-speed travel): the jumps there then add up
    to at most `jump`.
    """
    limits = np.full(len(xyz), speed)
    limits[[0, -1]] = 0.0
    if len(xyz) < 3:
        return limits
    seg = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    direction = np.diff(xyz, axis=0) / seg[:, None]
    turn = np.linalg.norm(np.diff(direction, axis=0), axis=1)  # (K-2,) |change of unit direction|, 0..2
    total = np.concatenate([[0.0], np.cumsum(turn)])
    window = 2 * speed * dt
    lo = np.searchsorted(s[1:-1], s[1:-1] - window, side="left")
    hi = np.searchsorted(s[1:-1], s[1:-1] + window, side="right")
    nearby_turn = total[hi] - total[lo]
    limits[1:-1] = np.minimum(speed, jump / np.maximum(nearby_turn, 1e-12))
    return limits


class _Profile:
    """Rest-to-rest time law along a polyline (K, 3): trapezoids in arc length between vertex speeds.

    The acceleration limit is split in halves: one for speeding up and slowing down along the path, one
    for the velocity jumps at corners (spread over a control tick), so the control-rate acceleration of
    the sampled path stays within `max_accel`.
    """

    def __init__(self, xyz: np.ndarray, speed: float, max_accel: float, dt: float):
        self.xyz = xyz
        self.accel = accel = max_accel / 2
        self.seg = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
        v = _corner_speeds(xyz, speed, jump=accel * dt, dt=dt)
        for i in range(len(self.seg)):  # forward: cannot speed up faster than accel
            v[i + 1] = min(v[i + 1], math.sqrt(v[i] ** 2 + 2 * accel * self.seg[i]))
        for i in range(len(self.seg) - 1, -1, -1):  # backward: must be able to slow down in time
            v[i] = min(v[i], math.sqrt(v[i + 1] ** 2 + 2 * accel * self.seg[i]))
        self.v = v
        self.parts = [_trapezoid(v[i], v[i + 1], self.seg[i], speed, accel) for i in range(len(self.seg))]
        self.times = np.concatenate([[0.0], np.cumsum([part[-1] for part in self.parts])])

    @property
    def duration(self) -> float:
        return float(self.times[-1])

    def position_at(self, t: np.ndarray) -> np.ndarray:
        """(M, 3) positions at times t (M,) from the start of the move."""
        if not len(self.seg):
            return np.repeat(self.xyz[:1], len(t), axis=0)
        t = np.clip(t, 0.0, self.duration)
        i = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, len(self.seg) - 1)
        tau = t - self.times[i]
        dist = np.empty(len(t))
        for j in np.unique(i):
            mask = i == j
            dist[mask] = _trapezoid_distance(tau[mask], self.v[j], *self.parts[j][:3], self.accel)
        frac = np.clip(dist / self.seg[i], 0.0, 1.0)[:, None]
        return self.xyz[i] + frac * (self.xyz[i + 1] - self.xyz[i])


def _trapezoid(v0: float, v1: float, length: float, speed: float, accel: float) -> tuple[float, ...]:
    """From v0 to v1 over `length`: (peak speed, accel time, cruise time, decel time, total time)."""
    peak = min(speed, math.sqrt(max((2 * accel * length + v0**2 + v1**2) / 2, 0.0)))
    peak = max(peak, v0, v1)
    t_acc = (peak - v0) / accel
    t_dec = (peak - v1) / accel
    d_cruise = max(length - (peak**2 - v0**2) / (2 * accel) - (peak**2 - v1**2) / (2 * accel), 0.0)
    t_cruise = d_cruise / peak if peak > 0 else 0.0
    return peak, t_acc, t_cruise, t_dec, t_acc + t_cruise + t_dec


def _trapezoid_distance(
    tau: np.ndarray, v0: float, peak: float, t_acc: float, t_cruise: float, accel: float
) -> np.ndarray:
    """Distance travelled `tau` seconds into a trapezoid segment."""
    d_acc = v0 * t_acc + 0.5 * accel * t_acc**2
    after = np.maximum(tau - t_acc - t_cruise, 0.0)
    return np.where(
        tau <= t_acc,
        v0 * tau + 0.5 * accel * tau**2,
        d_acc + peak * (np.minimum(tau, t_acc + t_cruise) - t_acc) + peak * after - 0.5 * accel * after**2,
    )
