"""A Panda writes waypoints on a whiteboard in PyBullet: IK per waypoint, motor control, ink, metrics.

Execution is physical: joint targets go to position-controlled motors (with velocity feed-forward) and the
simulation steps at a fixed rate; the robot is only teleported while setting up (to the first waypoint,
unless it is already there, as when a stream of waypoints is executed chunk by chunk).
The tip inks when it is within `ink_threshold_m` of the board surface. The pen tip's contact with the board
is compliant (see assets/pen.urdf), and pen-down waypoints lie exactly on the surface, so it never presses.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

from trajtok.board import BoardConfig
from trajtok.errors import TrajtokError
from trajtok.motion_profile import Waypoints
from trajtok.plot import plot_tracking
from trajtok_sim.bullet import pybullet
from trajtok_sim.ik import PenIK
from trajtok_sim.ink import BoardCanvas
from trajtok_sim.metrics import writing_metrics
from trajtok_sim.scene import (
    Robot,
    load_board,
    load_floor,
    pen_axis,
    write_board_urdf,
    write_robot_urdf,
)

GUI_LINE_STEP_M = 0.002  # debug lines in the GUI are drawn in pieces this long
CONTINUE_RADIUS_M = 0.01  # execute() starts from where the arm is when the first waypoint is this close
JOINT_SURFACE_TOLERANCE_M = 1e-4  # execute_joints: a point whose tip is this close to the board is pen-down


@dataclass
class WhiteboardConfig:
    board: BoardConfig = field(default_factory=BoardConfig)
    pen_tilt_deg: float = 50.0  # pen axis tipped down from the board normal, like a hand holds a marker
    physics_hz: float = 240.0
    position_gain: float = 0.3
    velocity_gain: float = 1.0
    ik_tolerance_m: float = 1e-5
    ik_max_iterations: int = 50
    ink_threshold_m: float = 0.001  # the tip inks within this distance of the surface
    pen_width_m: float = 0.003
    image_px_per_m: float = 1000.0
    frame_every_s: float = 1.0  # --frames: one snapshot per this much simulated time
    frame_size: tuple[int, int] = (320, 240)  # TinyRenderer takes ~70 ms a frame at this size
    gravity: bool = True


@dataclass
class WriteResult:
    """What happened at every physics step (M steps): tip commanded and tracked, ink; and the board image."""

    board_image: np.ndarray  # (H, W) uint8, 255 = clean board
    t_s: np.ndarray  # (M,)
    commanded_xyz_m: np.ndarray  # (M, 3) world
    tracked_xyz_m: np.ndarray  # (M, 3) world
    pen_down: np.ndarray  # (M,) bool, commanded
    inking: np.ndarray  # (M,) bool, the tip touched the board
    metrics: dict[str, float]


def save_result(
    result: WriteResult, board_png: str | Path, board: BoardConfig, title: str = ""
) -> dict[str, Path]:
    """Write the board picture, its metrics beside it (.json) and the tracking plot (_tracking.png)."""
    board_png = Path(board_png)
    board_png.parent.mkdir(parents=True, exist_ok=True)
    imsave(board_png, result.board_image, cmap="gray", vmin=0, vmax=255)
    metrics_json = board_png.with_suffix(".json")
    metrics_json.write_text(json.dumps(result.metrics, indent=2) + "\n")
    commanded_uv = board.to_board(result.commanded_xyz_m)[:, :2]
    tracked_uv = board.to_board(result.tracked_xyz_m)[:, :2]
    error_mm = np.linalg.norm(result.tracked_xyz_m - result.commanded_xyz_m, axis=1) * 1000
    tracking_png = board_png.with_name(board_png.stem + "_tracking.png")
    plot_tracking(commanded_uv, tracked_uv, result.pen_down, error_mm, result.t_s, tracking_png, title)
    return {"board": board_png, "metrics": metrics_json, "tracking": tracking_png}


class WhiteboardSim:
    """The scene plus an executor. Use as a context manager (or call close())."""

    def __init__(self, config: WhiteboardConfig | None = None, gui: bool = False):
        self.config = config or WhiteboardConfig()
        self.board = self.config.board
        if gui and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            # PyBullet's GUI would end the whole process on a missing X server, so say it first.
            raise TrajtokError(
                "the PyBullet GUI needs a display (DISPLAY is not set); drop --gui, or use --frames"
            )
        self._scratch = tempfile.TemporaryDirectory(prefix="trajtok_sim_")
        scratch = Path(self._scratch.name)
        robot_urdf = write_robot_urdf(scratch)
        self.client = pybullet.connect(pybullet.GUI if gui else pybullet.DIRECT)
        self.gui = gui
        pybullet.setTimeStep(1.0 / self.config.physics_hz, physicsClientId=self.client)
        pybullet.setGravity(0, 0, -9.81 if self.config.gravity else 0.0, physicsClientId=self.client)
        load_floor(self.client)
        self.robot = Robot.load(self.client, robot_urdf)
        self.board_body = load_board(self.client, self.board, write_board_urdf(self.board, scratch))
        self.axis = pen_axis(self.board, self.config.pen_tilt_deg)
        self.ik = PenIK(robot_urdf, self.config.ik_tolerance_m, self.config.ik_max_iterations)
        self.ik.set_rest_pose(np.asarray(self.board.center_m), self.axis)
        self.robot.reset(self.ik.rest)
        self._hold(self.ik.rest)

    def __enter__(self) -> WhiteboardSim:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.ik.close()
        if pybullet.isConnected(self.client):
            pybullet.disconnect(self.client)
        self._scratch.cleanup()

    def solve_ik(self, tip_xyz: np.ndarray, seed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Joint angles (7,) for a tip position (3,), and the kinematic error (m)."""
        return self.ik.solve(
            np.asarray(tip_xyz, dtype=float), self.axis, self.ik.rest if seed is None else seed
        )

    def execute(
        self,
        waypoints: Waypoints,
        progress: Callable[[float, float], None] | None = None,
        frames_dir: str | Path | None = None,
    ) -> WriteResult:
        """Write the waypoints; progress(sim_seconds_done, sim_seconds_total) is called along the way."""
        if len(waypoints) < 2:
            raise ValueError("waypoints: need at least two to execute")
        started = time.perf_counter()
        q_wp = _JointTargets(self, waypoints.xyz_m, self._start_at(waypoints.xyz_m[0]))
        result = self._run(waypoints, q_wp, started, progress, frames_dir)
        result.metrics["ik_max_error_mm"] = q_wp.max_error_m * 1000  # solved as execution went
        return result

    def execute_joints(
        self,
        t_s: np.ndarray,
        positions: np.ndarray,
        progress: Callable[[float, float], None] | None = None,
        frames_dir: str | Path | None = None,
    ) -> WriteResult:
        """Follow a joint trajectory (t_s (N,), positions (N, 7) of ARM_JOINTS) as a joint trajectory
        controller would: the same motors, interpolating between the points. The commanded tip is the
        forward kinematics of each point; it is pen-down where that lies on the board surface."""
        positions = np.asarray(positions, dtype=float)
        if len(t_s) < 2 or positions.shape != (len(t_s), 7):
            raise ValueError(f"joint trajectory: need (N >= 2, 7) positions, got {positions.shape}")
        started = time.perf_counter()
        xyz = np.empty((len(t_s), 3))
        for i, q in enumerate(positions):
            self.ik.robot.reset(q)
            xyz[i] = self.ik.robot.tip_pose()[0]
        if np.linalg.norm(self.robot.tip_pose()[0] - xyz[0]) > CONTINUE_RADIUS_M:
            self.robot.reset(positions[0])  # set-up, as execute() does for the first waypoint
            self._hold(positions[0])
        down = np.abs(self.board.to_board(xyz)[:, 2]) <= JOINT_SURFACE_TOLERANCE_M
        waypoints = Waypoints(np.asarray(t_s, dtype=float), xyz, down)
        return self._run(waypoints, positions, started, progress, frames_dir)

    def _run(self, waypoints: Waypoints, q_wp, started: float, progress, frames_dir) -> WriteResult:
        """Drive the motors through joint targets q_wp[k] (one per waypoint) and record the tip and ink."""
        cfg, board = self.config, self.board
        canvas = BoardCanvas(board, cfg.image_px_per_m, cfg.pen_width_m)
        t_wp, xyz_wp, down_wp = waypoints.t_s, waypoints.xyz_m, waypoints.pen_down

        dt = 1.0 / cfg.physics_hz
        n_steps = int(math.floor((t_wp[-1] - t_wp[0]) / dt + 1e-9))
        t_steps = t_wp[0] + dt * np.arange(1, n_steps + 1)
        commanded = np.empty((n_steps, 3))
        tracked = np.empty((n_steps, 3))
        pen_down = np.empty(n_steps, dtype=bool)
        inking = np.zeros(n_steps, dtype=bool)
        pen = _PenTrace(
            canvas, board, cfg.ink_threshold_m, self._tip_force, self.client if self.gui else None
        )
        frames = _FrameRecorder(self, frames_dir, canvas) if frames_dir else None

        def locate(t: float) -> tuple[int, float]:
            """Waypoint segment k and the fraction alpha of it at time t."""
            k = min(max(int(np.searchsorted(t_wp, t, side="right")) - 1, 0), len(t_wp) - 2)
            span = max(t_wp[k + 1] - t_wp[k], 1e-12)
            return k, min(max((t - t_wp[k]) / span, 0.0), 1.0)

        for j, t in enumerate(t_steps):
            # A position motor with velocity feed-forward ends the step at target + velocity * dt, so it gets
            # the pose due at the start of this step (t - dt) and the velocity of the segment; after the step
            # the tip is compared with the pose due at t.
            k, alpha = locate(t - dt)
            q0, q1 = q_wp[k], q_wp[k + 1]
            self._command((1 - alpha) * q0 + alpha * q1, (q1 - q0) / max(t_wp[k + 1] - t_wp[k], 1e-12))
            pybullet.stepSimulation(physicsClientId=self.client)
            k, alpha = locate(t)
            commanded[j] = (1 - alpha) * xyz_wp[k] + alpha * xyz_wp[k + 1]
            pen_down[j] = down_wp[k] and down_wp[k + 1]
            tracked[j] = self.robot.tip_pose()[0]
            inking[j] = pen.update(tracked[j])
            if frames:
                frames.maybe_save(t - t_wp[0])
            if progress and (j % 100 == 0 or j == n_steps - 1):
                progress(t - t_wp[0], t_wp[-1] - t_wp[0])
        pen.finish()
        wall = time.perf_counter() - started
        metrics = writing_metrics(commanded, tracked, pen_down, inking, board)
        sim_seconds = float(t_wp[-1] - t_wp[0])
        metrics.update(
            duration_s=sim_seconds,
            wall_s=wall,
            realtime_factor=sim_seconds / wall if wall > 0 else math.inf,
            max_tip_force_n=pen.max_force_n,
            n_waypoints=len(waypoints),
        )
        return WriteResult(canvas.image, t_steps, commanded, tracked, pen_down, inking, metrics)

    def _start_at(self, xyz: np.ndarray) -> np.ndarray:
        """Joint angles to start from: the arm carries on if it is at `xyz` already, else it is put there."""
        if np.linalg.norm(self.robot.tip_pose()[0] - xyz) <= CONTINUE_RADIUS_M:
            return self.solve_ik(xyz, seed=self.robot.joint_positions())[0]
        q = self.solve_ik(xyz)[0]  # set-up (the first waypoint is the approach point, off the board)
        self.robot.reset(q)
        self._hold(q)
        return q

    def _command(self, q: np.ndarray, qd: np.ndarray) -> None:
        robot, cfg = self.robot, self.config
        pybullet.setJointMotorControlArray(
            robot.body,
            robot.arm,
            pybullet.POSITION_CONTROL,
            targetPositions=list(np.clip(q, robot.lower, robot.upper)),
            targetVelocities=list(qd),
            positionGains=[cfg.position_gain] * 7,
            velocityGains=[cfg.velocity_gain] * 7,
            forces=list(robot.max_force),
            physicsClientId=self.client,
        )

    def _tip_force(self) -> float:
        """Total normal force (N) between the pen tip and the board."""
        contacts = pybullet.getContactPoints(
            self.robot.body, self.board_body, linkIndexA=self.robot.tip, physicsClientId=self.client
        )
        return float(sum(c[9] for c in contacts))

    def _hold(self, q: np.ndarray) -> None:
        self._command(q, np.zeros(7))


class _JointTargets:
    """IK solutions for the waypoints (N, 3), solved in order as execution reaches them, each seeded by the
    one before (so the posture follows the path continuously)."""

    def __init__(self, sim: WhiteboardSim, xyz_wp: np.ndarray, q_first: np.ndarray):
        self.sim = sim
        self.xyz_wp = xyz_wp
        self.solved = [q_first]
        self.max_error_m = 0.0

    def __getitem__(self, k: int) -> np.ndarray:
        while len(self.solved) <= k:
            q, error = self.sim.solve_ik(self.xyz_wp[len(self.solved)], seed=self.solved[-1])
            self.solved.append(q)
            self.max_error_m = max(self.max_error_m, error)
        return self.solved[k]


class _PenTrace:
    """Follows the tip: decides when it inks, paints the canvas (and GUI lines), notes the contact force."""

    def __init__(
        self,
        canvas: BoardCanvas,
        board: BoardConfig,
        threshold_m: float,
        contact_force: Callable[[], float],
        gui_client: int | None,
    ):
        self.canvas = canvas
        self.contact_force = contact_force
        self.board = board
        self.origin, self.u, self.v, self.n = board.axes()
        self.threshold_m = threshold_m
        self.gui_client = gui_client
        self.paint_step_m = 0.5 / canvas.px_per_m
        self.last_painted: np.ndarray | None = None  # (2,) uv where the ink line got to
        self.last_inking: np.ndarray | None = None  # (2,) uv of the previous inking step
        self.gui_from: np.ndarray | None = None  # (3,) world
        self.max_force_n = 0.0

    def update(self, tip_xyz: np.ndarray) -> bool:
        rel = tip_xyz - self.origin
        u, v, n = rel @ self.u, rel @ self.v, rel @ self.n
        on_board = abs(u) <= self.board.width_m / 2 and abs(v) <= self.board.height_m / 2
        inking = bool(on_board and n <= self.threshold_m)
        uv = np.array([u, v])
        if not inking:
            self.finish()
            return False
        if self.last_painted is None:
            self.canvas.paint(uv, uv)
            self.last_painted = uv
            self.gui_from = tip_xyz
        elif np.linalg.norm(uv - self.last_painted) >= self.paint_step_m:
            self.canvas.paint(self.last_painted, uv)
            self.last_painted = uv
        self.last_inking = uv
        self.max_force_n = max(self.max_force_n, self.contact_force())
        if self.gui_client is not None and np.linalg.norm(tip_xyz - self.gui_from) >= GUI_LINE_STEP_M:
            pybullet.addUserDebugLine(
                self.gui_from, tip_xyz, [0.05, 0.05, 0.2], 2, physicsClientId=self.gui_client
            )
            self.gui_from = tip_xyz
        return True

    def finish(self) -> None:
        """The pen left the board: close the line up to the last inking point."""
        if self.last_painted is not None and self.last_inking is not None:
            self.canvas.paint(self.last_painted, self.last_inking)
        self.last_painted = self.last_inking = self.gui_from = None


class _FrameRecorder:
    """Snapshots while writing: a TinyRenderer view of the scene beside the board image so far."""

    def __init__(self, sim: WhiteboardSim, frames_dir: str | Path, canvas: BoardCanvas):
        self.sim = sim
        self.dir = Path(frames_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.canvas = canvas
        self.next_t = 0.0
        self.count = 0
        width, height = sim.config.frame_size
        target = np.asarray(sim.board.center_m) + 0.3 * sim.board.axes()[3]
        self.view = pybullet.computeViewMatrix([-0.45, -0.9, 0.95], list(target), [0, 0, 1])
        self.projection = pybullet.computeProjectionMatrixFOV(55, width / height, 0.05, 5.0)

    def maybe_save(self, t: float) -> None:
        if t + 1e-9 < self.next_t:
            return
        self.next_t += self.sim.config.frame_every_s
        width, height = self.sim.config.frame_size
        _, _, rgba, _, _ = pybullet.getCameraImage(
            width, height, self.view, self.projection,
            renderer=pybullet.ER_TINY_RENDERER, physicsClientId=self.sim.client,
        )  # fmt: skip
        scene = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
        board = self.canvas.image
        rows = np.linspace(0, board.shape[0] - 1, height).astype(int)
        cols = np.linspace(0, board.shape[1] - 1, round(board.shape[1] * height / board.shape[0])).astype(int)
        board_rgb = np.repeat(board[rows][:, cols, None], 3, axis=2)
        imsave(self.dir / f"frame_{self.count:04d}.png", np.hstack([scene, board_rgb]))
        self.count += 1
