"""trajtok values -> ROS messages. No node state here."""

from __future__ import annotations

import json

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion
from nav_msgs.msg import Path
from sensor_msgs.msg import Image
from std_msgs.msg import ColorRGBA, Header, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from trajtok.strokes import pen_down_runs

# The pen points into the board: the tool z axis is the board's -z (a half turn about x), as (x, y, z, w).
PEN_ORIENTATION_XYZW = (1.0, 0.0, 0.0, 0.0)
INK_RGBA = (0.05, 0.1, 0.6, 1.0)


def stamp(seconds: float) -> Time:
    nanoseconds = int(round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_seconds(time_msg: Time | Duration) -> float:
    return time_msg.sec + time_msg.nanosec * 1e-9


def duration(seconds: float) -> Duration:
    nanoseconds = int(round(seconds * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def joint_trajectory(
    joint_names, start_s: float, t_s: np.ndarray, positions: np.ndarray, velocities: np.ndarray
) -> JointTrajectory:
    """A joint trajectory that starts at wall time `start_s`: point i due `t_s[i] - t_s[0]` after it."""
    points = [
        JointTrajectoryPoint(
            positions=[float(v) for v in q],
            velocities=[float(v) for v in qd],
            time_from_start=duration(float(t - t_s[0])),
        )
        for t, q, qd in zip(t_s, positions, velocities, strict=True)
    ]
    return JointTrajectory(header=Header(stamp=stamp(start_s)), joint_names=list(joint_names), points=points)


def pose(xyz_m) -> Pose:
    x, y, z = (float(v) for v in xyz_m)
    qx, qy, qz, qw = PEN_ORIENTATION_XYZW
    return Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=qx, y=qy, z=qz, w=qw))


def pose_stamped(frame_id: str, stamp_s: float, xyz_m) -> PoseStamped:
    return PoseStamped(header=Header(frame_id=frame_id, stamp=stamp(stamp_s)), pose=pose(xyz_m))


def path(frame_id: str, start_s: float, t_s: np.ndarray, xyz_m: np.ndarray) -> Path:
    """The whole plan: pose i is due at start_s + t_s[i]; pen-up travel is simply the lifted poses."""
    header = Header(frame_id=frame_id, stamp=stamp(start_s))
    poses = [pose_stamped(frame_id, start_s + float(t), p) for t, p in zip(t_s, xyz_m, strict=True)]
    return Path(header=header, poses=poses)


def ink_markers(
    frame_id: str, stamp_s: float, xyz_m: np.ndarray, pen_down: np.ndarray, width_m: float
) -> MarkerArray:
    """Ink as LINE_STRIP markers for RViz, after a DELETEALL that clears the previous phrase."""
    header = Header(frame_id=frame_id, stamp=stamp(stamp_s))
    markers = [Marker(header=header, ns="ink", action=Marker.DELETEALL)]
    r, g, b, a = INK_RGBA
    for i, run in enumerate(pen_down_runs(xyz_m, pen_down)):
        marker = Marker(header=header, ns="ink", id=i, type=Marker.LINE_STRIP, action=Marker.ADD)
        marker.pose.orientation.w = 1.0
        marker.scale.x = width_m
        marker.color = ColorRGBA(r=r, g=g, b=b, a=a)
        marker.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in run]
        markers.append(marker)
    return MarkerArray(markers=markers)


def image(pixels: np.ndarray, frame_id: str, stamp_s: float) -> Image:
    """(H, W, 3) uint8 -> rgb8, (H, W) uint8 -> mono8."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels not in (1, 3):
        raise ValueError(f"board image must be (H, W) or (H, W, 3), got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    return Image(
        header=Header(frame_id=frame_id, stamp=stamp(stamp_s)),
        height=height,
        width=width,
        encoding="mono8" if channels == 1 else "rgb8",
        is_bigendian=0,
        step=width * channels,
        data=pixels.tobytes(),
    )


def status(state: str, **fields) -> String:
    """A status line as JSON: {"state": "accepted" | "writing" | "planned" | "done" | "error", ...}."""
    return String(data=json.dumps({"state": state, **fields}))
