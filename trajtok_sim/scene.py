"""The whiteboard scene: a Franka Panda holding a pen (tip = a link) in front of a vertical board.

The Panda comes from `pybullet_data`; the pen and the board are our URDFs in `assets/`. The pen is grafted
onto the Panda's hand (one robot, so the pen tip is a link IK can target), and the board's box is resized to
the BoardConfig; both are written to a scratch directory and loaded from there.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet_data

from trajtok.board import BoardConfig
from trajtok_sim.bullet import pybullet

ASSETS = Path(__file__).parent / "assets"
PANDA_DIR = Path(pybullet_data.getDataPath()) / "franka_panda"
GRIP_OFFSET_M = 0.105  # panda_hand -> the point between the fingertips (the URDF's panda_grasptarget)
PEN_RADIUS_M = 0.008  # the fingers close on the pen to this half-opening
BOARD_THICKNESS_M = 0.02
ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
TIP_LINK = "pen_tip"


def write_robot_urdf(out_dir: Path) -> Path:
    """The Panda with trajtok_sim/assets/pen.urdf fixed between its fingers; mesh paths made absolute."""
    robot = ET.parse(PANDA_DIR / "panda.urdf").getroot()
    for mesh in robot.iter("mesh"):
        mesh.set("filename", mesh.get("filename", "").replace("package://", f"{PANDA_DIR}/"))
    pen = ET.parse(ASSETS / "pen.urdf").getroot()
    for element in pen:
        if element.tag in ("link", "joint", "material"):
            robot.append(element)
    mount = ET.SubElement(robot, "joint", name="pen_mount", type="fixed")
    ET.SubElement(mount, "parent", link="panda_hand")
    ET.SubElement(mount, "child", link="pen_body")
    ET.SubElement(mount, "origin", xyz=f"0 0 {GRIP_OFFSET_M}", rpy="0 0 0")
    path = out_dir / "panda_with_pen.urdf"
    ET.ElementTree(robot).write(path)
    return path


def write_board_urdf(board: BoardConfig, out_dir: Path) -> Path:
    """trajtok_sim/assets/whiteboard.urdf with the board box and the post resized to `board`."""
    tree = ET.parse(ASSETS / "whiteboard.urdf")
    root = tree.getroot()
    for box in root.find("link[@name='board']").iter("box"):
        box.set("size", f"{BOARD_THICKNESS_M} {board.width_m} {board.height_m}")
    bottom = board.center_m[2] - board.height_m / 2
    post_length = max(bottom, 0.01)
    root.find("link[@name='post']").find("visual/geometry/box").set("size", f"0.04 0.04 {post_length}")
    post_z = -board.height_m / 2 - post_length / 2
    root.find("joint[@name='post_joint']/origin").set("xyz", f"0.04 0 {post_z}")
    path = out_dir / "whiteboard.urdf"
    tree.write(path)
    return path


@dataclass
class Robot:
    """Handles into a loaded robot: arm joint indices, their limits, the finger joints and the tip link.

    `arm_joints` and `tip_link` name them in the URDF (the Panda with the pen by default); the fingers are
    the Panda's where the URDF has them. `dof_columns`: where each arm joint sits among the robot's movable
    joints (the columns of PyBullet's Jacobian)."""

    client: int
    body: int
    arm: list[int]
    fingers: list[int]
    tip: int
    lower: np.ndarray  # (J,) rad
    upper: np.ndarray
    max_force: np.ndarray  # (J,) N m
    max_velocity: np.ndarray  # (J,) rad/s
    n_dof: int
    dof_columns: list[int]

    @classmethod
    def load(
        cls, client: int, urdf: Path, arm_joints: tuple[str, ...] = ARM_JOINTS, tip_link: str = TIP_LINK
    ) -> Robot:
        body = pybullet.loadURDF(
            str(urdf),
            useFixedBase=True,
            flags=pybullet.URDF_USE_INERTIA_FROM_FILE,
            physicsClientId=client,
        )
        infos = [
            pybullet.getJointInfo(body, i, physicsClientId=client) for i in range(_n_joints(body, client))
        ]
        by_name = {info[1].decode(): info for info in infos}
        links = {info[12].decode(): info[0] for info in infos}
        missing = [name for name in arm_joints if name not in by_name]
        if missing or tip_link not in links:
            what = f"joints {', '.join(missing)}" if missing else f"link {tip_link!r}"
            raise ValueError(f"{urdf}: the robot has no {what}; name the arm's joints and the pen-tip link")
        movable = [info[0] for info in infos if info[2] != pybullet.JOINT_FIXED]
        arm = [by_name[name][0] for name in arm_joints]
        return cls(
            client=client,
            body=body,
            arm=arm,
            fingers=[by_name[name][0] for name in FINGER_JOINTS if name in by_name],
            tip=links[tip_link],
            lower=np.array([by_name[n][8] for n in arm_joints]),
            upper=np.array([by_name[n][9] for n in arm_joints]),
            max_force=np.array([by_name[n][10] for n in arm_joints]),
            max_velocity=np.array([by_name[n][11] for n in arm_joints]),
            n_dof=len(movable),
            dof_columns=[movable.index(j) for j in arm],
        )

    def reset(self, q: np.ndarray) -> None:
        """Teleport the arm (set-up and the kinematic IK twin only; execution uses the motors)."""
        joints = self.arm + self.fingers
        angles = [[float(a)] for a in q] + [[PEN_RADIUS_M]] * len(self.fingers)
        pybullet.resetJointStatesMultiDof(self.body, joints, angles, physicsClientId=self.client)

    def joint_positions(self) -> np.ndarray:
        states = pybullet.getJointStates(self.body, self.arm, physicsClientId=self.client)
        return np.array([s[0] for s in states])

    def tip_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) and rotation matrix (3, 3) of the pen tip."""
        state = pybullet.getLinkState(
            self.body, self.tip, computeForwardKinematics=True, physicsClientId=self.client
        )
        rotation = np.array(pybullet.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        return np.array(state[4]), rotation


def load_board(client: int, board: BoardConfig, urdf: Path) -> int:
    yaw = math.radians(board.yaw_deg)
    return pybullet.loadURDF(
        str(urdf),
        basePosition=list(board.center_m),
        baseOrientation=pybullet.getQuaternionFromEuler([0.0, 0.0, yaw]),
        useFixedBase=True,
        physicsClientId=client,
    )


def load_floor(client: int) -> int:
    return pybullet.loadURDF(
        str(Path(pybullet_data.getDataPath()) / "plane.urdf"), useFixedBase=True, physicsClientId=client
    )


def pen_axis(board: BoardConfig, tilt_deg: float) -> np.ndarray:
    """(3,) world direction the pen points (hand -> tip): into the board, tipped down by `tilt_deg`."""
    _, _, v, n = board.axes()
    tilt = math.radians(tilt_deg)
    return -math.cos(tilt) * n - math.sin(tilt) * v


def _n_joints(body: int, client: int) -> int:
    return pybullet.getNumJoints(body, physicsClientId=client)
