"""Inverse kinematics for the pen tip: damped least squares with a null-space pull to a rest pose.

PyBullet's calculateInverseKinematics leaves millimetres of error on this arm once a rest pose is given, so we
iterate ourselves on a kinematic twin of the robot (its own DIRECT client, moved with resetJointState; the
simulated robot is never teleported). The task is 5-D: tip position, and the pen axis direction (roll
about the pen is free). The two spare degrees of freedom go to the rest pose: each solution is the one
closest to it, so the posture is a smooth function of the target and the elbow never flips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trajtok_sim.bullet import pybullet
from trajtok_sim.scene import ARM_JOINTS, TIP_LINK, Robot

HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])  # the Panda's usual ready pose
DAMPING = 1e-2
NULL_GAIN = 0.5  # fraction of the way to the rest pose per iteration, inside the null space
NULL_TOLERANCE_RAD = 1e-3  # done when the tip is there and the pull towards the rest pose is this small
MAX_STEP_RAD = 0.2  # per iteration, on any joint
AXIS_TOLERANCE = 1e-4  # |pen axis error| (rad, small angle)


class PenIK:
    """IK for the arm joints `arm_joints` of `robot_urdf` (the Panda's by default) to its `tip_link`."""

    def __init__(
        self,
        robot_urdf: Path,
        tolerance_m: float = 1e-5,
        max_iterations: int = 50,
        arm_joints: tuple[str, ...] = ARM_JOINTS,
        tip_link: str = TIP_LINK,
    ):
        self.client = pybullet.connect(pybullet.DIRECT)
        try:
            self.robot = Robot.load(self.client, robot_urdf, arm_joints, tip_link)
        except Exception:
            self.close()
            raise
        self.tolerance_m = tolerance_m
        self.max_iterations = max_iterations
        # The Panda starts from its ready pose; another arm from the middle of its joint ranges.
        self.home = (
            HOME.copy() if tuple(arm_joints) == ARM_JOINTS else (self.robot.lower + self.robot.upper) / 2
        )
        self.rest = self.home.copy()
        self._zeros = [0.0] * self.robot.n_dof

    def set_rest_pose(self, tip_xyz: np.ndarray, axis: np.ndarray) -> np.ndarray:
        """Make the rest pose the solution at `tip_xyz` reached from the home pose (e.g. the board centre)."""
        q, _ = self.solve(tip_xyz, axis, self.home, max_iterations=500)
        self.rest = q
        return q

    def solve(
        self, tip_xyz: np.ndarray, axis: np.ndarray, seed: np.ndarray, max_iterations: int | None = None
    ) -> tuple[np.ndarray, float]:
        """Joint angles (J,) putting the tip at `tip_xyz` (3,), the pen along `axis`; and the error (m)."""
        robot = self.robot
        q = np.clip(np.asarray(seed, dtype=float), robot.lower, robot.upper)
        for _ in range(max_iterations or self.max_iterations):
            robot.reset(q)
            pos, rotation = robot.tip_pose()
            across = rotation[:, :2].T  # (2, 3): the hand's x and y, perpendicular to the pen
            error = np.concatenate([tip_xyz - pos, across @ _cross(rotation[:, 2], axis)])  # (5,)
            jac = self._jacobian(q, across)
            gram = jac @ jac.T
            pull = NULL_GAIN * (self.rest - q)
            pull -= jac.T @ np.linalg.solve(gram, jac @ pull)  # projected: moves no task coordinate
            reached = (
                np.linalg.norm(error[:3]) < self.tolerance_m and np.linalg.norm(error[3:]) < AXIS_TOLERANCE
            )
            if reached and np.abs(pull).max() < NULL_TOLERANCE_RAD:
                break
            step = jac.T @ np.linalg.solve(gram + DAMPING**2 * np.eye(5), error) + pull
            step *= min(1.0, MAX_STEP_RAD / max(np.abs(step).max(), 1e-12))
            q = np.clip(q + step, robot.lower, robot.upper)
        robot.reset(q)
        return q, float(np.linalg.norm(tip_xyz - robot.tip_pose()[0]))

    def _jacobian(self, q: np.ndarray, across: np.ndarray) -> np.ndarray:
        """(5, J): tip linear velocity, and the angular velocity about the two axes across the pen."""
        columns = self.robot.dof_columns
        angles = np.zeros(self.robot.n_dof)
        angles[columns] = q
        linear, angular = pybullet.calculateJacobian(
            self.robot.body, self.robot.tip, [0.0, 0.0, 0.0], angles.tolist(), self._zeros, self._zeros,
            physicsClientId=self.client,
        )  # fmt: skip
        return np.vstack([np.array(linear)[:, columns], across @ np.array(angular)[:, columns]])

    def close(self) -> None:
        if pybullet.isConnected(self.client):
            pybullet.disconnect(self.client)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross for two (3,) vectors, without its per-call overhead (this runs once per IK iteration)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
