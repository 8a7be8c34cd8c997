"""`writer`: text requests in, board waypoints out (Path, a paced PoseStamped stream, ink markers, status).

Topics (relative, so a namespace or remap moves them all):
  in   text           std_msgs/String            a phrase to write
  out  path           nav_msgs/Path              the whole plan in the board frame, once it is complete and
                                                 its stream has started (pose stamps: when each is due)
  out  waypoint       geometry_msgs/PoseStamped  one pose per control tick, starting while the model writes
  out  ink_markers    visualization_msgs/MarkerArray  pen-down runs as LINE_STRIPs, with the path
  out  writer_status  std_msgs/String            JSON: ready; per request accepted, writing, planned, done
                                                 (with stream timing), or error + reason

Requests are served one after another. Generation runs on its own thread and feeds trajtok's
WaypointPlanner step by step; a pacer thread publishes the planned waypoints on schedule.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback

import torch
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.node import Node
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from scribble_bridge import messages, parameters
from scribble_bridge.pacing import StreamEnd, StreamTiming, TimedWaypoint, WaypointPacer
from scribble_bridge.parameters import BOARD_PARAMS, ParamSpec
from scribble_bridge.qos import LATCHED, STATUS, STREAM
from trajtok.board import BoardConfig
from trajtok.generate import Sampling, Writer
from trajtok.motion_profile import Waypoints
from trajtok.waypoints import WaypointPlanner

WRITER_PARAMS = (
    ParamSpec("checkpoint", "", "model checkpoint: a .pt file or a run directory; '' = the shipped model",
              read_only=True),
    ParamSpec("temperature", Sampling().temperature, "sampling temperature (0 = greedy)", (0.0, 2.0)),
    ParamSpec("seed", -1, "sampling seed; -1 = a fresh seed per request", (-1, 2**31 - 1)),
    ParamSpec("max_chars", 64, "longest request accepted (also capped by what the model reads)", (1, 1000)),
)  # fmt: skip
ALL_PARAMS = BOARD_PARAMS + WRITER_PARAMS
INK_WIDTH_M = 0.003


class WriterNode(Node):
    def __init__(self):
        super().__init__("writer")
        # One torch thread: a decoding step is a few small matrix products, and more threads only fight over
        # the cores DDS and the pacer need (two threads on a busy 2-core machine made steps ~100x slower).
        torch.set_num_threads(1)
        # What destroy_node cleans up exists from the start, as a failed start destroys a half-built node.
        self._stop = threading.Event()
        self._requests: queue.Queue[tuple[int, str, dict] | None] = queue.Queue()
        self._pacer: WaypointPacer | None = None
        parameters.declare(self, ALL_PARAMS)
        parameters.board_config(parameters.values(self, ALL_PARAMS))  # refuse a bad start configuration
        self.add_on_set_parameters_callback(parameters.board_check(self, ALL_PARAMS))
        self._writer = Writer.from_checkpoint(self.get_parameter("checkpoint").value or None)
        self._max_text = self._writer.model.config.max_text

        self._path_pub = self.create_publisher(Path, "path", LATCHED)
        self._marker_pub = self.create_publisher(MarkerArray, "ink_markers", LATCHED)
        self._pose_pub = self.create_publisher(PoseStamped, "waypoint", STREAM)
        self._status_pub = self.create_publisher(String, "writer_status", STATUS)

        self._next_id = 1
        # A plan's Path goes out once both the plan is complete and its stream has started (its stamps are
        # the times each pose is due), from whichever thread gets there second.
        self._plan_lock = threading.Lock()
        self._stream_start_s: dict[int, float] = {}  # request id -> wall time its first waypoint was due
        self._waiting_plans: dict[int, tuple[Waypoints, BoardConfig, str]] = {}
        self._pacer = WaypointPacer(self._publish_waypoint, self._finish_stream)
        self._generator = threading.Thread(target=self._serve, name="generator", daemon=True)
        self._generator.start()
        self.create_subscription(String, "text", self._on_text, 10)
        self._status_pub.publish(messages.status("ready", max_chars=self._max_text))
        self.get_logger().info(
            f"ready: send text on {self.resolve_topic_name('text')} (at most {self._max_text} characters)"
        )

    # -- requests (executor thread) ---------------------------------------------------------------------
    def _on_text(self, msg: String) -> None:
        request_id, self._next_id = self._next_id, self._next_id + 1
        text = msg.data
        reason = self._refusal(text)
        if reason:
            self._status("error", request_id, text=text[:80], reason=reason)
            return
        self._status("accepted", request_id, text=text)
        self._requests.put((request_id, text, parameters.values(self, ALL_PARAMS)))

    def _refusal(self, text: str) -> str | None:
        """Why `text` cannot be written, or None."""
        if not text.strip():
            return "empty request: send the text to write"
        for i, char in enumerate(text):
            if not " " <= char <= "~":
                return f"character {char!r} at position {i} is not printable ASCII; write ASCII text only"
        limit = min(self.get_parameter("max_chars").value, self._max_text)
        if len(text) > limit:
            return (
                f"request has {len(text)} characters; at most {limit} "
                f"(parameter max_chars, model limit {self._max_text})"
            )
        return None

    # -- generation (generator thread) ------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            request = self._requests.get()
            if request is None:
                return
            self._write(*request)

    def _write(self, request_id: int, text: str, values: dict) -> None:
        """Generate `text` step by step, stream the waypoints as they are planned, then publish the plan."""
        board = parameters.board_config(values)
        frame = values["board_frame"]
        seed = values["seed"] if values["seed"] >= 0 else None
        planner = WaypointPlanner(board)
        parts: list[Waypoints] = []
        started = time.monotonic()
        try:
            for deltas, events in self._writer.stream(
                text, Sampling(temperature=values["temperature"], seed=seed)
            ):
                if self._stop.is_set():
                    return
                step_waypoints = planner.feed_deltas(deltas[None], events[:1])
                self._queue_waypoints(request_id, step_waypoints, parts, board, frame)
            self._queue_waypoints(request_id, planner.finish(), parts, board, frame)
        except ValueError as exc:  # the plan left the board or the arm's reach: lift the pen off and stop
            self._queue_waypoints(request_id, planner.abort(), parts, board, frame)
            self._pacer.put(StreamEnd(request_id, sum(map(len, parts)), error=str(exc)))
            return
        except Exception as exc:  # a bug: keep its traceback in the log, and keep serving
            self.get_logger().error(f"request {request_id}: {traceback.format_exc()}")
            self._pacer.put(StreamEnd(request_id, sum(map(len, parts)), error=f"internal error: {exc!r}"))
            return
        plan = Waypoints.concatenate(parts)
        if not len(plan):
            self._pacer.put(StreamEnd(request_id, 0, error="the model wrote nothing for this text"))
            return
        with self._plan_lock:
            start_s = self._stream_start_s.get(request_id)
            if start_s is None:
                self._waiting_plans[request_id] = (plan, board, frame)
        if start_s is not None:
            self._publish_plan(start_s, plan, board, frame)
        self._status("planned", request_id, waypoints=len(plan), duration_s=round(plan.duration_s, 3),
                     generation_s=round(time.monotonic() - started, 3))  # fmt: skip
        self._pacer.put(StreamEnd(request_id, len(plan)))

    def _queue_waypoints(
        self, request_id: int, waypoints: Waypoints, parts: list[Waypoints], board: BoardConfig, frame: str
    ) -> None:
        first = sum(map(len, parts))
        parts.append(waypoints)
        xyz = board.to_board(waypoints.xyz_m)  # world -> board frame
        for i in range(len(waypoints)):
            self._pacer.put(TimedWaypoint(request_id, first + i, float(waypoints.t_s[i]), xyz[i], frame))

    def _publish_plan(self, start_s: float, plan: Waypoints, board: BoardConfig, frame: str) -> None:
        xyz = board.to_board(plan.xyz_m)
        self._path_pub.publish(messages.path(frame, start_s, plan.t_s, xyz))
        self._marker_pub.publish(messages.ink_markers(frame, start_s, xyz, plan.pen_down, INK_WIDTH_M))

    # -- stream (pacer thread) --------------------------------------------------------------------------
    def _publish_waypoint(self, waypoint: TimedWaypoint, due_s: float) -> None:
        self._pose_pub.publish(messages.pose_stamped(waypoint.frame_id, due_s, waypoint.xyz_m))
        if waypoint.index == 0:
            self._status("writing", waypoint.request_id)
            start_s = due_s - waypoint.t_s
            with self._plan_lock:
                self._stream_start_s[waypoint.request_id] = start_s
                waiting = self._waiting_plans.pop(waypoint.request_id, None)
            if waiting is not None:  # generation finished first (or this request waited in line)
                self._publish_plan(start_s, *waiting)

    def _finish_stream(self, end: StreamEnd, timing: StreamTiming) -> None:
        with self._plan_lock:
            self._stream_start_s.pop(end.request_id, None)
        figures = {"starved": timing.starved, "worst_late_ms": round(1000 * timing.worst_late_s, 1)}
        if end.error:
            self._status("error", end.request_id, reason=end.error, waypoints=end.n_waypoints, **figures)
        else:
            self._status("done", end.request_id, waypoints=end.n_waypoints, **figures)

    # -- helpers ----------------------------------------------------------------------------------------
    def _status(self, state: str, request_id: int, **fields) -> None:
        self._status_pub.publish(messages.status(state, request=request_id, **fields))

    def destroy_node(self) -> None:
        self._stop.set()
        self._requests.put(None)
        if self._pacer is not None:
            self._pacer.close()
        super().destroy_node()
