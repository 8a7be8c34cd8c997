"""`writer`: text requests in, board waypoints out (Path, a paced PoseStamped stream or a JointTrajectory).

Requests come two ways, served one after another in the order they arrive:
  in   text           std_msgs/String            a phrase to write (fire and forget)
  act  write          scribble_interfaces/action/Write  a goal with feedback, cancel and a result

Topics (relative, so a namespace or remap moves them all):
  out  path           nav_msgs/Path              the whole plan in the board frame, once it is complete and
                                                 its stream has started (pose stamps: when each is due)
  out  waypoint       geometry_msgs/PoseStamped  one pose per control tick, starting while the model writes
                                                 (output:=poses, the default)
  out  joint_trajectory  trajectory_msgs/JointTrajectory  output:=joints: the plan as arm joint positions and
                                                 velocities (IK of the sim's arm), once the plan is complete
                                                 and within the joint and velocity limits; a cancel sends
                                                 the lift-off as a new trajectory that replaces it
  out  ink_markers    visualization_msgs/MarkerArray  pen-down runs as LINE_STRIPs, with the path
  out  writer_status  std_msgs/String            JSON: ready; per request accepted, writing, planned, done
                                                 (with stream timing), canceled, or error + reason

The action: feedback while the goal waits (stage "queued"), while the model writes ("generating") and with
every few waypoints ("writing", "lifting"); the result has the Path as executed. Policy for a goal that
comes while another request runs: it is queued behind it (and can be canceled while it waits). Cancel
stops generation and the stream at once: nothing more of the plan goes out, the pen lifts off along the
board normal from the last pose sent to `approach_m`, and the result says canceled. A goal the node
cannot write (bad text or settings, a plan off the board or out of reach, joint limits) is aborted with
the reason as the result's message.

Generation runs on its own thread and feeds trajtok's WaypointPlanner step by step; a pacer thread
publishes the planned waypoints on schedule.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.action import ActionServer, CancelResponse
from rclpy.node import Node
from rclpy.task import Future
from scribble_interfaces.action import Write
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from scribble_bridge import messages, parameters, requests
from scribble_bridge.pacing import StreamEnd, StreamTiming, TimedWaypoint, WaypointPacer
from scribble_bridge.parameters import BOARD_PARAMS, ParamSpec
from scribble_bridge.qos import LATCHED, STATUS, STREAM
from scribble_bridge.shutdown import quiet_after_shutdown
from trajtok.board import BoardConfig
from trajtok.generate import Sampling, Writer
from trajtok.motion_profile import Waypoints
from trajtok.retract import lift_off
from trajtok.sample import Sample
from trajtok.waypoints import WaypointPlanner
from trajtok.word_layout import board_pieces, board_steps, writes_word_by_word

PANDA_JOINTS = tuple(
    f"panda_joint{i}" for i in range(1, 8)
)  # trajtok_sim.scene.ARM_JOINTS (no PyBullet here)
WRITER_PARAMS = (
    ParamSpec("checkpoint", "", "model checkpoint: a .pt file or a run directory; '' = the shipped model",
              read_only=True),
    ParamSpec("temperature", Sampling().temperature, "sampling temperature (0 = greedy)", (0.0, 2.0)),
    ParamSpec("seed", -1, "sampling seed; -1 = a fresh seed per request", (-1, 2**31 - 1)),
    ParamSpec("max_chars", 64, "longest request accepted (also capped by what the model reads)", (1, 1000)),
    ParamSpec("output", "poses", "'poses': the PoseStamped stream; 'joints': a JointTrajectory (IK)",
              read_only=True),
    ParamSpec("robot_urdf", "", "output:=joints: the arm's URDF; '' = the simulated Panda with its pen",
              read_only=True),
    ParamSpec("joint_names", list(PANDA_JOINTS), "output:=joints: the arm joints, in trajectory order",
              read_only=True),
    ParamSpec("tip_link", "pen_tip", "output:=joints: the URDF link at the pen tip", read_only=True),
    ParamSpec("pen_tilt_deg", 50.0, "output:=joints: pen axis tipped down from the board normal (deg)",
              (0.0, 80.0), read_only=True),
)  # fmt: skip
ALL_PARAMS = BOARD_PARAMS + WRITER_PARAMS
LIMITS = {spec.name: spec.limits for spec in ALL_PARAMS if spec.limits is not None}
INK_WIDTH_M = 0.003
FEEDBACK_HZ = 10.0  # "writing" feedback about this often (every few waypoints)
CANCEL_STATE_WAIT_S = 1.0  # the server marks a goal CANCELING right after our cancel callback returns


@dataclass
class Job:
    """One request (topic or goal) from acceptance to its end; shared by the three threads."""

    request_id: int
    text: str
    values: dict
    prime: Sample | None = None
    goal: object | None = None  # ServerGoalHandle of an action goal
    done: Future | None = None  # the goal's result, for the execute callback to return
    accepted_s: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    steps: int = 0
    budget: int = 1
    planned: int = 0
    total: int | None = None  # waypoints in the plan, once it is complete
    sent: int = 0
    progress: float = 0.0
    last_feedback_s: float = 0.0
    first_waypoint_s: float | None = None
    generation_s: float = 0.0
    duration_s: float = 0.0
    poses: list = field(default_factory=list)  # (due wall time, board xyz) of every waypoint sent
    joints: object | None = None  # output:=joints: the JointTrajectory of the plan
    joints_start_s: float | None = None  # and the wall time its first point is due
    plan_xyz: np.ndarray | None = None  # (N, 3) world positions of the plan (output:=joints)
    finished: bool = False


class WriterNode(Node):
    def __init__(self):
        super().__init__("writer")
        # One torch thread: a decoding step is a few small matrix products, and more threads only fight over
        # the cores DDS and the pacer need (two threads on a busy 2-core machine made steps ~100x slower).
        torch.set_num_threads(1)
        # What destroy_node cleans up exists from the start, as a failed start destroys a half-built node.
        self._stop = threading.Event()
        self._requests: queue.Queue[Job | None] = queue.Queue()
        self._pacer: WaypointPacer | None = None
        self._joint_planner = None
        parameters.declare(self, ALL_PARAMS)
        start_values = parameters.values(self, ALL_PARAMS)
        board = parameters.board_config(start_values)  # refuse a bad start configuration
        if start_values["output"] not in ("poses", "joints"):
            raise ValueError(
                f"parameter output: expected 'poses' or 'joints', got {start_values['output']!r}"
            )
        self._output = start_values["output"]
        self.add_on_set_parameters_callback(parameters.board_check(self, ALL_PARAMS))
        self._writer = Writer.from_checkpoint(self.get_parameter("checkpoint").value or None)
        self._max_text = self._writer.model.config.max_text
        self._joint_lock = threading.Lock()
        if self._output == "joints":
            self._joint_planner = self._make_joint_planner(board, start_values)

        self._path_pub = self.create_publisher(Path, "path", LATCHED)
        self._marker_pub = self.create_publisher(MarkerArray, "ink_markers", LATCHED)
        if self._output == "poses":
            self._pose_pub = self.create_publisher(PoseStamped, "waypoint", STREAM)
        else:
            self._joint_pub = self.create_publisher(JointTrajectory, "joint_trajectory", LATCHED)
        self._status_pub = self.create_publisher(String, "writer_status", STATUS)

        self._next_id = 1
        self._jobs: dict[int, Job] = {}  # request id -> job, until its end
        self._jobs_lock = threading.Lock()
        # A plan's Path goes out once both the plan is complete and its stream has started (its stamps are
        # the times each pose is due), from whichever thread gets there second.
        self._plan_lock = threading.Lock()
        self._stream_start_s: dict[int, float] = {}  # request id -> wall time its first waypoint was due
        self._waiting_plans: dict[int, tuple[Waypoints, BoardConfig, str]] = {}
        self._pacer = WaypointPacer(
            quiet_after_shutdown(self, self._publish_waypoint),
            quiet_after_shutdown(self, self._finish_stream),
        )
        self._generator = threading.Thread(
            target=quiet_after_shutdown(self, self._serve), name="generator", daemon=True
        )
        self._generator.start()
        self.create_subscription(String, "text", self._on_text, 10)
        self._action = ActionServer(
            self, Write, "write", execute_callback=self._execute_goal, cancel_callback=self._on_cancel
        )
        self._status_pub.publish(messages.status("ready", max_chars=self._max_text, output=self._output))
        self.get_logger().info(
            f"ready: send text on {self.resolve_topic_name('text')} or goals to the action "
            f"{self.resolve_topic_name('write')} (at most {self._max_text} characters)"
        )

    def _make_joint_planner(self, board: BoardConfig, values: dict):
        from trajtok_sim.joint_trajectory import ArmConfig, JointPlanner  # PyBullet: only for output:=joints

        arm = ArmConfig(
            urdf=values["robot_urdf"] or None,
            joint_names=tuple(values["joint_names"]),
            tip_link=values["tip_link"],
            pen_tilt_deg=values["pen_tilt_deg"],
        )
        return JointPlanner(board, arm)

    # -- requests (executor thread) ---------------------------------------------------------------------
    def _new_id(self) -> int:
        request_id, self._next_id = self._next_id, self._next_id + 1
        return request_id

    def _on_text(self, msg: String) -> None:
        request_id = self._new_id()
        text = msg.data
        reason = self._text_refusal(text)
        if reason:
            self._status("error", request_id, text=text[:80], reason=reason)
            return
        self._accept(Job(request_id, text, parameters.values(self, ALL_PARAMS)))

    def _text_refusal(self, text: str, prime: Sample | None = None) -> str | None:
        room = self._max_text - (len(prime.text) + 1 if prime is not None else 0)
        return requests.text_refusal(text, self.get_parameter("max_chars").value, room)

    def _accept(self, job: Job) -> None:
        with self._jobs_lock:
            self._jobs[job.request_id] = job
        self._status("accepted", job.request_id, text=job.text, goal=job.goal is not None)
        self._requests.put(job)

    async def _execute_goal(self, goal_handle) -> Write.Result:
        """An action goal: checked, queued like a topic request, and answered when its stream ends."""
        request_id = self._new_id()
        goal = goal_handle.request
        checked = requests.goal_settings(
            parameters.values(self, ALL_PARAMS), LIMITS,
            goal.letter_height_m, goal.temperature, goal.seed, goal.style,
        )  # fmt: skip
        reason = checked if isinstance(checked, str) else self._text_refusal(goal.text, checked[1])
        if reason is None:
            try:
                parameters.board_config(checked[0])
            except ValueError as exc:
                reason = str(exc)
        if reason is not None:
            self._status("error", request_id, text=goal.text[:80], reason=reason, goal=True)
            goal_handle.abort()
            return Write.Result(success=False, message=reason)
        values, prime = checked
        job = Job(request_id, goal.text, values, prime, goal=goal_handle, done=Future())
        self._feedback(job, "queued", force=True)
        self._accept(job)
        return await job.done

    def _on_cancel(self, goal_handle) -> CancelResponse:
        with self._jobs_lock:
            job = next((j for j in self._jobs.values() if j.goal is goal_handle), None)
        if job is None or job.finished:
            return CancelResponse.REJECT
        if job.cancel.is_set():  # canceled already: the lift-off is on its way
            return CancelResponse.ACCEPT
        job.cancel.set()
        self._pacer.interrupt(job.request_id, lambda last: self._lift_off(job, last))
        return CancelResponse.ACCEPT

    # -- generation (generator thread) ------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            job = self._requests.get()
            if job is None:
                return
            if not job.cancel.is_set():  # a job canceled while queued: the pacer ends it
                self._write(job)

    def _text_steps(
        self, text: str, sampling: Sampling, prime: Sample | None
    ) -> Iterable[tuple[int, tuple[np.ndarray, np.ndarray]]]:
        """The text's steps as they come, on one line for the board to wrap: word by word for a model trained
        on lines stitched from single words, in the model's lines for text longer than they are, else
        whole (trajtok.word_layout.board_pieces); each with its word, where known (board_steps)."""

        def stream_words(part: str):
            return self._writer.stream_words(part, sampling, prime=prime)

        word_by_word = writes_word_by_word("auto", self._writer.stitched_words)
        pieces = board_pieces(self._writer.lines(text, prime), word_by_word)
        return board_steps(stream_words, pieces, np.random.default_rng(sampling.seed))

    def _write(self, job: Job) -> None:
        """Generate the text step by step, stream the waypoints as they are planned, then publish the plan."""
        values = job.values
        board = parameters.board_config(values)
        frame = values["board_frame"]
        seed = values["seed"] if values["seed"] >= 0 else None
        planner = WaypointPlanner(board)
        parts: list[Waypoints] = []
        started = time.monotonic()
        streaming = self._output == "poses"  # joints: the trajectory goes out once the plan is complete
        job.budget = self._writer.step_budget(job.text)
        self._feedback(job, "generating", force=True)
        try:
            for word, (deltas, events) in self._text_steps(
                job.text, Sampling(temperature=values["temperature"], seed=seed), job.prime
            ):
                if self._stop.is_set() or job.cancel.is_set():
                    return  # the pacer lifts the pen and ends the request
                job.steps += 1
                step_waypoints = planner.feed_deltas(deltas[None], events[:1], np.array([word]))
                self._plan(job, step_waypoints, parts, board, frame, streaming)
            self._plan(job, planner.finish(), parts, board, frame, streaming)
        except ValueError as exc:  # the plan left the board or the arm's reach: lift the pen off and stop
            self._plan(job, planner.abort(), parts, board, frame, streaming)
            self._end(job, parts, error=str(exc))
            return
        except Exception as exc:  # a bug: keep its traceback in the log, and keep serving
            self.get_logger().error(f"request {job.request_id}: {traceback.format_exc()}")
            self._end(job, parts, error=f"internal error: {exc!r}")
            return
        plan = Waypoints.concatenate(parts)
        if not len(plan):
            self._end(job, [], error="the model wrote nothing for this text")
            return
        if not streaming:
            try:
                with self._joint_lock:
                    job.joints = self._joint_planner.solve(plan)
                job.plan_xyz = plan.xyz_m
            except ValueError as exc:  # out of reach, a joint range or velocity limit: nothing is sent
                self._end(job, [], error=f"refused by the joint limits: {exc}")
                return
            self._queue(job, plan, 0, board, frame)
        job.total, job.generation_s, job.duration_s = len(plan), time.monotonic() - started, plan.duration_s
        with self._plan_lock:
            start_s = self._stream_start_s.get(job.request_id)
            if start_s is None:
                self._waiting_plans[job.request_id] = (plan, board, frame)
        if start_s is not None:
            self._publish_plan(start_s, plan, board, frame)
        self._status("planned", job.request_id, waypoints=len(plan), duration_s=round(plan.duration_s, 3),
                     generation_s=round(job.generation_s, 3))  # fmt: skip
        self._pacer.put(StreamEnd(job.request_id, len(plan)))

    def _plan(self, job: Job, waypoints: Waypoints, parts: list, board: BoardConfig, frame: str,
              streaming: bool) -> None:  # fmt: skip
        first = sum(map(len, parts))
        parts.append(waypoints)
        job.planned = first + len(waypoints)
        if streaming:
            self._queue(job, waypoints, first, board, frame)

    def _queue(self, job: Job, waypoints: Waypoints, first: int, board: BoardConfig, frame: str) -> None:
        xyz = board.to_board(waypoints.xyz_m)  # world -> board frame
        for i in range(len(waypoints)):
            self._pacer.put(TimedWaypoint(job.request_id, first + i, float(waypoints.t_s[i]), xyz[i], frame))

    def _end(self, job: Job, parts: list[Waypoints], error: str) -> None:
        self._pacer.put(
            StreamEnd(job.request_id, sum(map(len, parts)) if self._output == "poses" else 0, error)
        )

    def _publish_plan(self, start_s: float, plan: Waypoints, board: BoardConfig, frame: str) -> None:
        xyz = board.to_board(plan.xyz_m)
        self._path_pub.publish(messages.path(frame, start_s, plan.t_s, xyz))
        self._marker_pub.publish(messages.ink_markers(frame, start_s, xyz, plan.pen_down, INK_WIDTH_M))

    # -- stream (pacer thread) --------------------------------------------------------------------------
    def _publish_waypoint(self, waypoint: TimedWaypoint, due_s: float) -> None:
        job = self._job(waypoint.request_id)
        lifting = waypoint.index < 0
        if self._output == "poses":
            self._pose_pub.publish(messages.pose_stamped(waypoint.frame_id, due_s, waypoint.xyz_m))
        elif waypoint.index == 0 and job is not None and job.joints is not None:
            job.joints_start_s = due_s
            self._publish_joints(job.joints, due_s)
        if job is None:
            return
        job.sent += 1
        job.poses.append((due_s, waypoint.xyz_m))
        if waypoint.index == 0:
            job.first_waypoint_s = time.monotonic() - job.accepted_s
            self._status("writing", waypoint.request_id)
            start_s = due_s - waypoint.t_s
            with self._plan_lock:
                self._stream_start_s[waypoint.request_id] = start_s
                waiting = self._waiting_plans.pop(waypoint.request_id, None)
            if waiting is not None:  # generation finished first (or this request waited in line)
                self._publish_plan(start_s, *waiting)
        self._feedback(job, "lifting" if lifting else "writing", force=waypoint.index == 0, pose=waypoint)

    def _lift_off(self, job: Job, last: TimedWaypoint | None) -> list[TimedWaypoint | StreamEnd]:
        """After a cancel: from the last pose sent, the pen straight off the board (then the end)."""
        items: list[TimedWaypoint | StreamEnd] = []
        if last is not None:
            board = parameters.board_config(job.values)
            lift = lift_off(board, board.to_world(np.asarray(last.xyz_m)[None])[0])
            xyz = board.to_board(lift.xyz_m)
            t_s = last.t_s + lift.t_s
            items = [
                TimedWaypoint(job.request_id, -1 - i, float(t_s[i]), xyz[i], last.frame_id)
                for i in range(1, len(lift))
            ]
            if self._output == "joints" and job.joints_start_s is not None:
                self._publish_lift_joints(job, board)
        return [*items, StreamEnd(job.request_id, len(job.poses) + len(items), error="canceled")]

    def _publish_lift_joints(self, job: Job, board: BoardConfig) -> None:
        """A JointTrajectory of the lift-off from the plan's next point (by the trajectory's own clock, which
        a controller follows, not the pacer's), due when that point is: it replaces the rest of the plan."""
        due = job.joints_start_s + job.joints.t_s
        k = min(int(np.searchsorted(due, time.time())), len(due) - 1)
        lift = lift_off(board, job.plan_xyz[k])
        if len(lift) < 2:
            return
        try:
            with self._joint_lock:
                trajectory = self._joint_planner.solve(lift, seed=job.joints.positions[k])
        except ValueError as exc:
            self.get_logger().error(f"request {job.request_id}: the lift-off was refused: {exc}")
            return
        self._publish_joints(trajectory, float(due[k]))

    def _publish_joints(self, trajectory, start_s: float) -> None:
        """trajtok_sim JointTrajectory -> the message, its first point due at wall time `start_s`."""
        msg = messages.joint_trajectory(
            trajectory.joint_names, start_s, trajectory.t_s, trajectory.positions, trajectory.velocities
        )
        self._joint_pub.publish(msg)

    def _finish_stream(self, end: StreamEnd, timing: StreamTiming) -> None:
        with self._plan_lock:
            self._stream_start_s.pop(end.request_id, None)
            self._waiting_plans.pop(end.request_id, None)
        figures = {"starved": timing.starved, "worst_late_ms": round(1000 * timing.worst_late_s, 1)}
        with self._jobs_lock:
            job = self._jobs.pop(end.request_id, None)
        if job is not None:
            if job.finished:
                return
            job.finished = True
        if end.error == "canceled":
            self._status("canceled", end.request_id, waypoints=end.n_waypoints, **figures)
        elif end.error:
            self._status("error", end.request_id, reason=end.error, waypoints=end.n_waypoints, **figures)
        else:
            self._status("done", end.request_id, waypoints=end.n_waypoints, **figures)
        if job is not None and job.goal is not None:
            self._answer(job, end)

    def _answer(self, job: Job, end: StreamEnd) -> None:
        """The goal's final feedback, state and result."""
        goal = job.goal
        if end.error is None:
            job.progress = 1.0
        self._feedback(job, "done" if end.error is None else end.error.split(":")[0], force=True)
        frame = job.values["board_frame"]
        if job.poses:
            stamps = np.array([s for s, _ in job.poses])
            path = messages.path(frame, stamps[0], stamps - stamps[0], np.array([p for _, p in job.poses]))
        else:
            path = Path()
            path.header.frame_id = frame
        result = Write.Result(
            success=end.error is None,
            message=end.error or f"wrote {job.text!r}: {job.sent} waypoints, {job.duration_s:.1f} s",
            path=path,
            waypoints=job.sent,
            generation_s=job.generation_s,
            duration_s=job.duration_s,
            first_waypoint_s=job.first_waypoint_s or 0.0,
        )
        if end.error == "canceled":
            deadline = time.monotonic() + CANCEL_STATE_WAIT_S
            while goal.status != GoalStatus.STATUS_CANCELING and time.monotonic() < deadline:
                time.sleep(0.001)
            goal.canceled()
        elif end.error:
            goal.abort()
        else:
            goal.succeed()
        job.done.set_result(result)
        if self.executor is not None:  # the execute callback awaiting it runs when the executor wakes
            self.executor.wake()

    # -- helpers ----------------------------------------------------------------------------------------
    def _job(self, request_id: int) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(request_id)

    def _feedback(self, job: Job, stage: str, force: bool = False, pose: TimedWaypoint | None = None) -> None:
        """Goal feedback, at most FEEDBACK_HZ unless forced. Progress only grows: while the model still
        writes it is the smaller of waypoints sent / planned so far and steps / the step budget."""
        if job.goal is None:
            return
        if job.total:
            estimate = job.sent / job.total
        else:
            estimate = min(job.sent / max(job.planned, 1), job.steps / max(job.budget, 1))
        job.progress = min(max(job.progress, estimate), 1.0)
        now = time.monotonic()
        if not force and now - job.last_feedback_s < 1.0 / FEEDBACK_HZ:
            return
        job.last_feedback_s = now
        feedback = Write.Feedback(
            progress=job.progress,
            stage=stage,
            characters_total=len(job.text),
            characters_done=int(job.progress * len(job.text)),
            steps_generated=job.steps,
            waypoints_planned=job.planned,
            waypoints_done=job.sent,
        )
        if pose is not None:
            feedback.current_pose = messages.pose_stamped(pose.frame_id, time.time(), pose.xyz_m)
        elif job.poses:
            feedback.current_pose = messages.pose_stamped(job.values["board_frame"], *job.poses[-1])
        job.goal.publish_feedback(feedback)

    def _status(self, state: str, request_id: int, **fields) -> None:
        self._status_pub.publish(messages.status(state, request=request_id, **fields))

    def destroy_node(self) -> None:
        self._stop.set()
        self._requests.put(None)
        if self._pacer is not None:
            self._pacer.close()
        if self._joint_planner is not None:
            self._joint_planner.close()
        super().destroy_node()
