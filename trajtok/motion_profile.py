"""How a board path is timed: rest-to-rest moves along polylines, under speed and acceleration limits.

Every move starts and ends at rest. Along a move the speed follows trapezoids in arc length (acceleration
limit), capped by the move's speed and slowed at corners so the velocity turns by at most
`max_accel_mps2 / control_rate_hz` per control tick. `MoveTimer` times moves one after another on one global
grid of control ticks and returns them as `Waypoints`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trajtok.board import BoardConfig


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


class MoveTimer:
    """Time-parametrizes rest-to-rest moves one after another and samples them (on one global grid)."""

    def __init__(self, board: BoardConfig, resample: bool = True):
        """Speeds and limits from `board` (write_speed_mps by default, max_accel_mps2, control_rate_hz,
        dot_dwell_s); resample=True: one waypoint per control tick, False: one per path vertex."""
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
