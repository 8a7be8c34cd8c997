"""Pick-and-place scene in PyBullet (DIRECT): a Panda on a table, one coloured cube, one open tray.

The robot is driven the way a policy drives it: once per control step (`control_rate_hz`) it receives an
end-effector delta (dx, dy, dz) in metres, world frame, and a gripper command (closed or open). The deltas
move a commanded fingertip target (`home_xyz_m + cumsum(deltas)`, clipped to the workspace); inverse
kinematics turns it into joint targets that position-controlled motors track over the physics substeps.
The fingers are motors too: the cube is held by contact friction only (no constraints, no teleporting).

Success: the cube rests inside the tray's inner walls, below the wall top, after the episode and a settle
time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pybullet_data

from trajtok_sim.bullet import pybullet as p

CUBE_COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.1, 0.1),
    "green": (0.1, 0.7, 0.2),
    "blue": (0.15, 0.3, 0.9),
    "yellow": (0.95, 0.85, 0.1),
    "orange": (0.95, 0.5, 0.05),
    "purple": (0.55, 0.2, 0.75),
}

PANDA_ARM_JOINTS = tuple(range(7))
PANDA_FINGER_JOINTS = (9, 10)
PANDA_FINGERTIP_LINK = 11  # panda_grasptarget: between the fingertips
# A comfortable elbow-up posture above the table; also the IK rest pose, which keeps solutions on one branch.
PANDA_REST_Q = (0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785)


@dataclass(frozen=True)
class PickConfig:
    control_rate_hz: float = 10.0
    physics_rate_hz: float = 240.0
    home_xyz_m: tuple[float, float, float] = (0.45, 0.0, 0.30)  # fingertip start, pointing down
    # Workspace the commanded fingertip is clipped to (x, y, z) min and max.
    workspace_min_m: tuple[float, float, float] = (0.2, -0.45, 0.005)
    workspace_max_m: tuple[float, float, float] = (0.75, 0.45, 0.45)
    # Where scenes put things (centres, metres) and how far apart cube and tray must be.
    cube_x_range_m: tuple[float, float] = (0.35, 0.65)
    cube_y_range_m: tuple[float, float] = (-0.3, 0.3)
    tray_x_range_m: tuple[float, float] = (0.35, 0.65)
    tray_y_range_m: tuple[float, float] = (-0.3, 0.3)
    min_separation_m: float = 0.2
    cube_yaw_range_rad: float = 0.25
    cube_size_m: float = 0.04  # mirrors assets/pick_cube.urdf
    tray_inner_half_m: float = 0.08  # mirrors assets/pick_tray.urdf
    tray_wall_top_m: float = 0.055
    finger_open_m: float = 0.04  # per finger
    finger_force_n: float = 40.0
    arm_force_scale: float = 1.0
    settle_s: float = 1.0  # after the last command, before success is judged


@dataclass(frozen=True)
class PickScene:
    """One randomised scene. `state()` is what a policy is conditioned on."""

    cube_xy_m: tuple[float, float]
    cube_yaw_rad: float
    color: str
    tray_xy_m: tuple[float, float]
    cube_z_m: float = 0.02
    tray_z_m: float = 0.0

    def state(self) -> np.ndarray:
        """(6,) float32: initial cube centre xyz and tray origin xyz, metres, world frame."""
        return np.array([*self.cube_xy_m, self.cube_z_m, *self.tray_xy_m, self.tray_z_m], np.float32)


def sample_scene(rng: np.random.Generator, config: PickConfig | None = None) -> PickScene:
    """A random scene: cube and tray uniformly in their ranges, at least `min_separation_m` apart."""
    config = config or PickConfig()
    while True:
        cube = (rng.uniform(*config.cube_x_range_m), rng.uniform(*config.cube_y_range_m))
        tray = (rng.uniform(*config.tray_x_range_m), rng.uniform(*config.tray_y_range_m))
        if math.dist(cube, tray) >= config.min_separation_m:
            break
    return PickScene(
        cube_xy_m=(float(cube[0]), float(cube[1])),
        cube_yaw_rad=float(rng.uniform(-config.cube_yaw_range_rad, config.cube_yaw_range_rad)),
        color=str(rng.choice(sorted(CUBE_COLORS))),
        tray_xy_m=(float(tray[0]), float(tray[1])),
        cube_z_m=config.cube_size_m / 2,
    )


@dataclass
class PickResult:
    success: bool
    cube_xyz_m: np.ndarray  # (3,) final cube centre
    fingertip_xyz_m: np.ndarray  # (T+1, 3) measured fingertip after each control step (row 0: start)
    target_xyz_m: np.ndarray  # (T+1, 3) commanded (clipped) fingertip target
    grasped_steps: int = 0  # control steps on which the cube was off the table between the fingers
    metrics: dict = field(default_factory=dict)


def _asset(name: str) -> str:
    return str(resources.files("trajtok_sim") / "assets" / name)


class PickPlaceSim:
    """A reusable PyBullet DIRECT world; `run(scene, deltas, gripper_closed)` executes one episode."""

    def __init__(self, config: PickConfig | None = None):
        self.config = config = config or PickConfig()
        self.client = p.connect(p.DIRECT)
        self._substeps = max(1, round(config.physics_rate_hz / config.control_rate_hz))
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        p.setTimeStep(1.0 / config.physics_rate_hz, physicsClientId=self.client)
        self._table = p.loadURDF(_asset("pick_table.urdf"), [0.35, 0, 0], useFixedBase=True, **self._cid)
        self._robot = p.loadURDF("franka_panda/panda.urdf", [0, 0, 0], useFixedBase=True, **self._cid)
        self._tray = p.loadURDF(_asset("pick_tray.urdf"), [0.5, 0.3, 0], useFixedBase=True, **self._cid)
        self._cube = p.loadURDF(_asset("pick_cube.urdf"), [0.5, -0.3, 0.02], **self._cid)
        self._down = p.getQuaternionFromEuler([math.pi, 0.0, 0.0])
        # IK null-space arguments cover every movable joint (7 arm + 2 fingers), or PyBullet ignores them.
        lower, upper = [], []
        for j in (*PANDA_ARM_JOINTS, *PANDA_FINGER_JOINTS):
            info = p.getJointInfo(self._robot, j, **self._cid)
            lower.append(info[8])
            upper.append(info[9])
        self._ik_limits = (lower, upper, [hi - lo for lo, hi in zip(lower, upper, strict=True)])
        # PyBullet's IK starts from the current joint positions: start the home solve from the rest pose.
        for j, q in zip(PANDA_ARM_JOINTS, PANDA_REST_Q, strict=True):
            p.resetJointState(self._robot, j, q, 0.0, **self._cid)
        self._home_q = self._solve_ik(np.array(config.home_xyz_m), PANDA_REST_Q, iterations=200)
        self._target = np.array(config.home_xyz_m, float)

    @property
    def _cid(self) -> dict:
        return {"physicsClientId": self.client}

    def close(self) -> None:
        if self.client is not None and p.isConnected(self.client):
            p.disconnect(self.client)
        self.client = None

    def __enter__(self) -> PickPlaceSim:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scene --------------------------------------------------------------------------------------------
    def reset(self, scene: PickScene) -> None:
        """Put the robot at home with the gripper open and place the cube and tray of `scene`."""
        for j, q in zip(PANDA_ARM_JOINTS, self._home_q, strict=True):
            p.resetJointState(self._robot, j, q, 0.0, **self._cid)
        for j in PANDA_FINGER_JOINTS:
            p.resetJointState(self._robot, j, self.config.finger_open_m, 0.0, **self._cid)
        p.resetBasePositionAndOrientation(
            self._tray, [*scene.tray_xy_m, scene.tray_z_m], [0, 0, 0, 1], **self._cid
        )
        cube_quat = p.getQuaternionFromEuler([0, 0, scene.cube_yaw_rad])
        p.resetBasePositionAndOrientation(
            self._cube, [*scene.cube_xy_m, scene.cube_z_m], cube_quat, **self._cid
        )
        p.resetBaseVelocity(self._cube, [0, 0, 0], [0, 0, 0], **self._cid)
        p.changeVisualShape(self._cube, -1, rgbaColor=[*CUBE_COLORS[scene.color], 1.0], **self._cid)
        self._target = np.array(self.config.home_xyz_m, float)
        self._command(self._home_q, closed=False)

    def cube_xyz(self) -> np.ndarray:
        return np.array(p.getBasePositionAndOrientation(self._cube, **self._cid)[0])

    def fingertip_xyz(self) -> np.ndarray:
        return np.array(p.getLinkState(self._robot, PANDA_FINGERTIP_LINK, **self._cid)[4])

    def cube_in_tray(self) -> bool:
        cube = self.cube_xyz()
        tray = np.array(p.getBasePositionAndOrientation(self._tray, **self._cid)[0])
        inside = np.all(np.abs(cube[:2] - tray[:2]) < self.config.tray_inner_half_m)
        return bool(inside and cube[2] < tray[2] + self.config.tray_wall_top_m)

    def _cube_held(self) -> bool:
        """Both fingers touch the cube and it is off the table."""
        touching = all(
            p.getContactPoints(self._robot, self._cube, linkIndexA=j, **self._cid)
            for j in PANDA_FINGER_JOINTS
        )
        return bool(touching and self.cube_xyz()[2] > self.config.cube_size_m / 2 + 0.01)

    # -- control ------------------------------------------------------------------------------------------
    def _solve_ik(self, xyz: np.ndarray, rest_q, iterations: int = 30) -> tuple[float, ...]:
        lower, upper, ranges = self._ik_limits
        q = p.calculateInverseKinematics(
            self._robot,
            PANDA_FINGERTIP_LINK,
            xyz.tolist(),
            self._down,
            lowerLimits=lower,
            upperLimits=upper,
            jointRanges=ranges,
            restPoses=[*rest_q, self.config.finger_open_m, self.config.finger_open_m],
            maxNumIterations=iterations,
            residualThreshold=1e-4,
            **self._cid,
        )
        return tuple(q[: len(PANDA_ARM_JOINTS)])

    def _command(self, arm_q, closed: bool) -> None:
        for j, q in zip(PANDA_ARM_JOINTS, arm_q, strict=True):
            info_force = 87.0 if j < 4 else 12.0
            p.setJointMotorControl2(
                self._robot,
                j,
                p.POSITION_CONTROL,
                targetPosition=q,
                force=info_force * self.config.arm_force_scale,
                maxVelocity=2.0,
                **self._cid,
            )
        finger = 0.0 if closed else self.config.finger_open_m
        for j in PANDA_FINGER_JOINTS:
            p.setJointMotorControl2(
                self._robot,
                j,
                p.POSITION_CONTROL,
                targetPosition=finger,
                force=self.config.finger_force_n,
                maxVelocity=0.1,
                **self._cid,
            )

    def step(self, delta_xyz_m: np.ndarray, gripper_closed: bool) -> None:
        """One control step: move the fingertip target by `delta_xyz_m`, command the gripper, simulate."""
        self._target = np.clip(
            self._target + np.asarray(delta_xyz_m, float),
            self.config.workspace_min_m,
            self.config.workspace_max_m,
        )
        current_q = [p.getJointState(self._robot, j, **self._cid)[0] for j in PANDA_ARM_JOINTS]
        self._command(self._solve_ik(self._target, current_q), closed=bool(gripper_closed))
        for _ in range(self._substeps):
            p.stepSimulation(**self._cid)

    def run(self, scene: PickScene, deltas_xyz_m: np.ndarray, gripper_closed: np.ndarray) -> PickResult:
        """Execute an open-loop episode: `deltas_xyz_m` (T, 3) metres and `gripper_closed` (T,) bool."""
        deltas_xyz_m = np.asarray(deltas_xyz_m, float).reshape(-1, 3)
        gripper_closed = np.asarray(gripper_closed, bool).reshape(-1)
        if len(deltas_xyz_m) != len(gripper_closed):
            raise ValueError(f"{len(deltas_xyz_m)} deltas but {len(gripper_closed)} gripper commands")
        self.reset(scene)
        tips, targets, held = [self.fingertip_xyz()], [self._target.copy()], 0
        for delta, closed in zip(deltas_xyz_m, gripper_closed, strict=True):
            self.step(delta, closed)
            tips.append(self.fingertip_xyz())
            targets.append(self._target.copy())
            held += self._cube_held()
        last_closed = bool(gripper_closed[-1]) if len(gripper_closed) else False
        for _ in range(round(self.config.settle_s * self.config.control_rate_hz)):
            self.step(np.zeros(3), last_closed)
        tips, targets = np.array(tips), np.array(targets)
        return PickResult(
            success=self.cube_in_tray(),
            cube_xyz_m=self.cube_xyz(),
            fingertip_xyz_m=tips,
            target_xyz_m=targets,
            grasped_steps=held,
            metrics={"tracking_error_m": float(np.abs(tips - targets).max())},
        )
