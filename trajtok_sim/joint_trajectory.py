"""Board waypoints -> a joint trajectory for an arm controller: the sim's IK per waypoint, limits checked.

The same pen IK as the whiteboard simulation (`PenIK`: the pen axis tipped like a hand holds a marker, the
rest pose solved at the board centre, each waypoint seeded by the one before), so a controller given this
trajectory moves the arm as the simulated one moves. Velocities are the time derivative of the positions
(zero at both ends: every plan starts and ends at rest). Nothing is returned that would break the arm's
joint ranges or velocity limits, or that the IK could not reach: such a plan is refused with the reason.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.board import BoardConfig
from trajtok.motion_profile import Waypoints
from trajtok_sim.ik import PenIK
from trajtok_sim.scene import ARM_JOINTS, TIP_LINK, pen_axis, write_robot_urdf

PEN_TILT_DEG = 50.0  # WhiteboardConfig.pen_tilt_deg's default: the sim's hand
MAX_TIP_ERROR_M = 1e-4  # a waypoint the IK leaves farther than this from is out of reach


class JointLimitError(ValueError):
    """A plan the arm cannot follow: out of reach, out of a joint's range, or too fast for a joint."""


@dataclass(frozen=True)
class ArmConfig:
    """Which arm: `urdf` None = the simulated Panda holding the pen (trajtok_sim's scene)."""

    urdf: str | None = None
    joint_names: tuple[str, ...] = ARM_JOINTS
    tip_link: str = TIP_LINK
    pen_tilt_deg: float = PEN_TILT_DEG
    ik_tolerance_m: float = 1e-5
    ik_max_iterations: int = 50
    velocity_margin: float = 1.0  # use at most this fraction of each joint's velocity limit


@dataclass
class JointTrajectory:
    """t_s (N,) from the start; positions and velocities (N, J) for `joint_names`."""

    joint_names: tuple[str, ...]
    t_s: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    max_tip_error_m: float  # the IK's worst distance from a waypoint

    def __len__(self) -> int:
        return len(self.t_s)


class JointPlanner:
    """Solves waypoints on one board for one arm; keeps its IK twin (a PyBullet DIRECT client) open."""

    def __init__(self, board: BoardConfig, arm: ArmConfig | None = None):
        self.board = board
        self.arm = arm or ArmConfig()
        self._scratch = tempfile.TemporaryDirectory(prefix="trajtok_joints_")
        urdf = Path(self.arm.urdf) if self.arm.urdf else write_robot_urdf(Path(self._scratch.name))
        if not urdf.is_file():
            self._scratch.cleanup()
            raise FileNotFoundError(f"{urdf}: robot URDF not found")
        try:
            self.ik = PenIK(urdf, self.arm.ik_tolerance_m, self.arm.ik_max_iterations,
                            tuple(self.arm.joint_names), self.arm.tip_link)  # fmt: skip
        except Exception:
            self._scratch.cleanup()
            raise
        self.axis = pen_axis(board, self.arm.pen_tilt_deg)
        self.ik.set_rest_pose(np.asarray(board.center_m, dtype=float), self.axis)
        robot = self.ik.robot
        self.lower, self.upper = robot.lower, robot.upper
        self.max_velocity = robot.max_velocity * self.arm.velocity_margin

    def solve(self, waypoints: Waypoints, seed: np.ndarray | None = None) -> JointTrajectory:
        """Joint positions and velocities for every waypoint; raises JointLimitError with the reason."""
        if len(waypoints) < 2:
            raise JointLimitError("joint trajectory: need at least two waypoints")
        q = np.empty((len(waypoints), len(self.lower)))
        previous = self.ik.rest if seed is None else np.asarray(seed, dtype=float)
        worst = 0.0
        for i, xyz in enumerate(waypoints.xyz_m):
            q[i], error = self.ik.solve(xyz, self.axis, previous)
            previous = q[i]
            if error > MAX_TIP_ERROR_M:
                u, v, n = self.board.to_board(xyz[None])[0]
                raise JointLimitError(
                    f"waypoint {i} (board u={u:.3f} v={v:.3f} n={n:.3f} m) is out of the arm's reach: the IK "
                    f"stays {1000 * error:.1f} mm away; move the board or the text closer"
                )
            worst = max(worst, error)
        qd = np.gradient(q, waypoints.t_s, axis=0)
        qd[[0, -1]] = 0.0
        trajectory = JointTrajectory(tuple(self.arm.joint_names), waypoints.t_s.copy(), q, qd, worst)
        self.check(trajectory)
        return trajectory

    def check(self, trajectory: JointTrajectory) -> None:
        """Raise JointLimitError naming the first joint out of its range or over its velocity limit."""
        names, t = trajectory.joint_names, trajectory.t_s
        low = trajectory.positions < self.lower - 1e-9
        high = trajectory.positions > self.upper + 1e-9
        if (low | high).any():
            i, j = np.argwhere(low | high)[0]
            raise JointLimitError(
                f"joint {names[j]} would be at {trajectory.positions[i, j]:.3f} rad at t={t[i]:.2f} s "
                f"(waypoint {i}); its range is [{self.lower[j]:.3f}, {self.upper[j]:.3f}] rad"
            )
        ratio = np.abs(trajectory.velocities) / self.max_velocity
        if (ratio > 1.0).any():
            i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            speed = abs(trajectory.velocities[i, j])
            raise JointLimitError(
                f"joint {names[j]} would move at {speed:.2f} rad/s at t={t[i]:.2f} s "
                f"(waypoint {i}); its limit is {self.max_velocity[j]:.2f} rad/s: lower write_speed_mps / "
                "travel_speed_mps or max_accel_mps2"
            )

    def close(self) -> None:
        self.ik.close()
        self._scratch.cleanup()

    def __enter__(self) -> JointPlanner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
