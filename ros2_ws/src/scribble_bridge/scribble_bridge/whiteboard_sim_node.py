"""`whiteboard_sim`: a simulated Panda (trajtok_sim, PyBullet DIRECT) writes what the writer node streams.

Topics (relative, like the writer's):
  in   waypoint       geometry_msgs/PoseStamped  board-frame pen poses (source:=waypoint, the default)
  in   path           nav_msgs/Path              a whole plan at once (source:=path)
  in   joint_trajectory  trajectory_msgs/JointTrajectory  arm joint trajectories (source:=joints), followed
                                                 as a joint_trajectory_controller does: each point at its
                                                 time, a new trajectory replacing what is left of the last
  in   writer_status  std_msgs/String            the writer's "done"/"error"/"canceled" ends a stream
  out  joint_states   sensor_msgs/JointState     the arm's joints while it writes
  out  board_image    sensor_msgs/Image          mono8 picture of the board (255 = clean), after each chunk
  out  sim_status     std_msgs/String            JSON: ready, then per phrase writing, done (with figures)

The stream is followed chunk by chunk: whatever arrived while the previous chunk ran is executed next with
`WhiteboardSim.execute`, starting from the last pose of the previous chunk. Poses come in the board frame,
so the simulated board may sit anywhere in the world; pen-down is "on the surface" (board z = 0).
Joint trajectories are followed the same way, chunk by chunk as their points fall due in wall time, with
`WhiteboardSim.execute_joints`; a phrase ends when no point is left and none came for `end_timeout_s`.
"""

from __future__ import annotations

import json
import threading
import time
import traceback

import numpy as np
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from scribble_bridge import messages, parameters
from scribble_bridge.parameters import BOARD_PARAMS, ParamSpec
from scribble_bridge.qos import LATCHED, STATUS, STATUS_LIVE, STREAM
from scribble_bridge.shutdown import quiet_after_shutdown
from trajtok.motion_profile import Waypoints
from trajtok_sim.scene import ARM_JOINTS
from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim

SIM_PARAMS = (
    ParamSpec(
        "source",
        "waypoint",
        "follow 'waypoint' (the PoseStamped stream), 'path' (whole plans) or 'joints' (JointTrajectory)",
    ),
    ParamSpec(
        "image_px_per_m", WhiteboardConfig().image_px_per_m, "board image pixels per metre", (50.0, 4000.0)
    ),
    ParamSpec(
        "end_timeout_s", 2.0, "after the writer's done, wait this long for late waypoints (s)", (0.1, 60.0)
    ),
)
SOURCES = {"waypoint": "waypoint", "path": "path", "joints": "joint_trajectory"}  # source -> topic
CHUNK_S = 0.25  # execute the stream in pieces at least this long (stream time), or what is left at its end
SURFACE_TOLERANCE_M = 1e-6  # a pose this close to the board surface is pen-down


class StreamBuffer:
    """Poses of the current stream (board frame, stamped) and where its end is, shared by two threads."""

    def __init__(self):
        self.changed = threading.Condition()
        self.stamps_s: list[float] = []
        self.xyz_m: list[np.ndarray] = []
        self.expected: int | None = None  # total announced by the writer's end status
        self.ended_at: float | None = None  # monotonic time of that status

    def reset(self) -> None:
        self.stamps_s, self.xyz_m, self.expected, self.ended_at = [], [], None, None


class WhiteboardSimNode(Node):
    def __init__(self):
        super().__init__("whiteboard_sim")
        self._started_s = time.time()
        # What destroy_node cleans up exists from the start, as a failed start destroys a half-built node.
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._sim: WhiteboardSim | None = None
        # The scene is built once, so its board cannot change while running.
        parameters.declare(self, BOARD_PARAMS + SIM_PARAMS, read_only=True)
        values = parameters.values(self, BOARD_PARAMS + SIM_PARAMS)
        if values["source"] not in SOURCES:
            expected = ", ".join(f"'{s}'" for s in SOURCES)
            raise ValueError(f"parameter source: expected one of {expected}, got {values['source']!r}")
        self._frame = values["board_frame"]
        self._end_timeout_s = values["end_timeout_s"]
        board = parameters.board_config(values)
        self._sim = WhiteboardSim(WhiteboardConfig(board=board, image_px_per_m=values["image_px_per_m"]))
        self._board = board
        self._image: np.ndarray | None = None  # (H, W) uint8 board picture of the current phrase
        self._buffer = StreamBuffer()
        self._paths: list[Path] = []
        self._joint_points: list[tuple[float, np.ndarray]] = []  # (due wall time, (7,) q), not yet executed
        self._joints_at = 0.0  # monotonic time the last joint trajectory came

        self._joint_pub = self.create_publisher(JointState, "joint_states", 10)
        self._image_pub = self.create_publisher(Image, "board_image", LATCHED)
        self._status_pub = self.create_publisher(String, "sim_status", STATUS)
        if values["source"] == "waypoint":
            self.create_subscription(String, "writer_status", self._on_writer_status, STATUS_LIVE)
            self.create_subscription(PoseStamped, "waypoint", self._on_waypoint, STREAM)
            target = self._follow_stream
        elif values["source"] == "path":
            self.create_subscription(Path, "path", self._on_path, LATCHED)
            target = self._follow_paths
        else:
            self.create_subscription(JointTrajectory, "joint_trajectory", self._on_joint_trajectory, LATCHED)
            target = self._follow_joints
        self._worker = threading.Thread(target=quiet_after_shutdown(self, target), name="sim", daemon=True)
        self._worker.start()
        following = self.resolve_topic_name(SOURCES[values["source"]])
        self._status("ready", following=following)
        self.get_logger().info(f"ready: following {following}")

    # -- input (executor thread) ------------------------------------------------------------------------
    def _on_waypoint(self, msg: PoseStamped) -> None:
        p = msg.pose.position
        stamp_s = messages.stamp_seconds(msg.header.stamp)
        if stamp_s < self._started_s:  # history from before this node started
            return
        with self._buffer.changed:
            self._buffer.stamps_s.append(stamp_s)
            self._buffer.xyz_m.append(np.array([p.x, p.y, p.z]))
            self._buffer.changed.notify()

    def _on_writer_status(self, msg: String) -> None:
        status = json.loads(msg.data)
        if status.get("state") in ("done", "error", "canceled") and status.get("waypoints"):
            with self._buffer.changed:
                self._buffer.expected = int(status["waypoints"])
                self._buffer.ended_at = time.monotonic()
                self._buffer.changed.notify()

    def _on_path(self, msg: Path) -> None:
        with self._buffer.changed:
            self._paths.append(msg)
            self._buffer.changed.notify()

    def _on_joint_trajectory(self, msg: JointTrajectory) -> None:
        """Points in the sim's joint order, due at header stamp + time_from_start; a trajectory replaces the
        points of the last one due from its start on."""
        start_s = messages.stamp_seconds(msg.header.stamp)
        if start_s + 1.0 < self._started_s or not msg.points:  # history from before this node started
            return
        try:
            order = [list(msg.joint_names).index(name) for name in ARM_JOINTS]
        except ValueError:
            self._status(
                "error", reason=f"joint trajectory names {list(msg.joint_names)}; expected {ARM_JOINTS}"
            )
            return
        points = [
            (start_s + messages.stamp_seconds(p.time_from_start), np.asarray(p.positions, dtype=float)[order])
            for p in msg.points
        ]
        with self._buffer.changed:
            first = points[0][0]
            self._joint_points = [p for p in self._joint_points if p[0] < first] + points
            self._joints_at = time.monotonic()
            self._buffer.changed.notify()

    # -- simulation (sim thread) ------------------------------------------------------------------------
    def _follow_stream(self) -> None:
        done = 0  # poses of the current stream already executed (the next chunk starts at done - 1)
        buffer = self._buffer
        while not self._stop.is_set():
            with buffer.changed:
                buffer.changed.wait(0.1)
                received, expected = len(buffer.stamps_s), buffer.expected
                ended = expected is not None and (
                    received >= expected or time.monotonic() - buffer.ended_at > self._end_timeout_s
                )
                end = min(received, expected) if ended else received
                chunk = (buffer.stamps_s[max(done - 1, 0) : end], buffer.xyz_m[max(done - 1, 0) : end])
                if ended:  # poses past the end already belong to the next phrase
                    stamps, xyz = buffer.stamps_s[end:], buffer.xyz_m[end:]
                    buffer.reset()
                    buffer.stamps_s, buffer.xyz_m = stamps, xyz
            if len(chunk[0]) >= 2 and (ended or chunk[0][-1] - chunk[0][0] >= CHUNK_S):
                if done == 0:
                    self._start_phrase()
                self._execute(*chunk)
                done = end
            if ended:
                self._finish_phrase(end, expected)
                done = 0

    def _follow_paths(self) -> None:
        while not self._stop.is_set():
            with self._buffer.changed:
                self._buffer.changed.wait(0.1)
                paths, self._paths = self._paths, []
            for msg in paths:
                stamps = [messages.stamp_seconds(p.header.stamp) for p in msg.poses]
                xyz = [np.array([p.pose.position.x, p.pose.position.y, p.pose.position.z]) for p in msg.poses]
                self._start_phrase()
                if len(stamps) >= 2:
                    self._execute(stamps, xyz)
                self._finish_phrase(len(stamps), len(stamps))

    def _follow_joints(self) -> None:
        """Execute the points that are due, chunk by chunk, from the last point executed."""
        last: tuple[float, np.ndarray] | None = None
        writing, executed = False, 0
        while not self._stop.is_set():
            with self._buffer.changed:
                self._buffer.changed.wait(CHUNK_S)
                now = time.time()
                due = [p for p in self._joint_points if p[0] <= now]
                self._joint_points = self._joint_points[len(due) :]
                idle = not self._joint_points and time.monotonic() - self._joints_at > self._end_timeout_s
            if last is not None:  # a replacing trajectory starts at or before the point executed last
                due = [p for p in due if p[0] > last[0]]
            chunk = ([last] if last is not None else []) + due
            if len(chunk) >= 2:
                if not writing:
                    self._start_phrase()
                    writing = True
                t_s = np.array([t for t, _ in chunk]) - chunk[0][0]
                q = np.array([q for _, q in chunk])
                self._simulate(
                    lambda progress, t_s=t_s, q=q: self._sim.execute_joints(t_s, q, progress=progress)
                )
                last = chunk[-1]
            elif due:
                last = due[-1]
            executed += len(due)
            if writing and idle:
                self._finish_phrase(executed, executed)
                writing, last, executed = False, None, 0

    def _start_phrase(self) -> None:
        self._image = None
        self._status("writing")

    def _execute(self, stamps_s: list[float], board_xyz_m: list[np.ndarray]) -> None:
        board_xyz = np.array(board_xyz_m)
        waypoints = Waypoints(
            t_s=np.array(stamps_s) - stamps_s[0],
            xyz_m=self._board.to_world(board_xyz),
            pen_down=np.abs(board_xyz[:, 2]) < SURFACE_TOLERANCE_M,
        )
        self._simulate(lambda progress: self._sim.execute(waypoints, progress=progress))

    def _simulate(self, run) -> None:
        """`run(progress)` one chunk in the sim; add its ink to the board picture and publish it."""
        try:
            result = run(lambda *_: self._publish_joints())
        except Exception as exc:  # a bug: keep its traceback in the log, and keep following
            if not self.context.ok():  # shutting down: the publish in progress failed
                raise
            self.get_logger().error(traceback.format_exc())
            self._status("error", reason=f"simulation failed: {exc!r}")
            return
        self._image = (
            result.board_image if self._image is None else np.minimum(self._image, result.board_image)
        )
        self._publish_joints()
        self._image_pub.publish(messages.image(self._image, self._frame, time.time()))

    def _finish_phrase(self, n_waypoints: int, expected: int) -> None:
        """Report the phrase: waypoints executed (of those expected) and inked pixels."""
        inked = 0 if self._image is None else int((self._image < 128).sum())
        self._status("done", waypoints=n_waypoints, expected=expected, ink_pixels=inked)

    # -- helpers ----------------------------------------------------------------------------------------
    def _publish_joints(self) -> None:
        msg = JointState(
            name=list(ARM_JOINTS), position=[float(q) for q in self._sim.robot.joint_positions()]
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        self._joint_pub.publish(msg)

    def _status(self, state: str, **fields) -> None:
        self._status_pub.publish(messages.status(state, **fields))

    def destroy_node(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
        if self._sim is not None:
            self._sim.close()
        super().destroy_node()
