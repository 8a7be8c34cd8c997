"""Helpers for the ROS 2 bridge tests: build the workspace with colcon, start its executables, listen in.

Everything is real: colcon builds ros2_ws/src into a temporary directory, the nodes run as separate
processes from `install/scribble_bridge/lib/scribble_bridge/` (what `ros2 run` would start) in the
environment `source install/setup.bash` gives, and the test talks to them over DDS on loopback with rclpy.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from trajtok.strokes import pen_down_runs  # noqa: F401  (the tests' name for it)

REPO = Path(__file__).resolve().parents[1]
WORKSPACE_SRC = REPO / "ros2_ws" / "src"
PACKAGE = "scribble_bridge"

# Domain ids 1..100, starting at a per-process offset so two test runs on one machine rarely meet.
_domain_ids = itertools.cycle([1 + (i + random.Random(os.getpid()).randrange(100)) % 100 for i in range(100)])


START_S = 90  # a cold node start imports torch and loads the model; CI machines can be slow

# Quick moves so a phrase takes seconds, not minutes; tests and the bench share them.
FAST_BOARD = {
    "board_frame": "whiteboard",
    "letter_height_m": 0.04,
    "approach_m": 0.01,
    "write_speed_mps": 0.2,
    "travel_speed_mps": 0.25,
    "max_accel_mps2": 4.0,
    "control_rate_hz": 50.0,
}
FAST_WRITER = {**FAST_BOARD, "temperature": 0.0, "seed": 0}


def _qos(depth: int, latched: bool = False):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    durability = DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE, durability=durability)


def writer_outputs() -> list[tuple]:
    """(topic, type, QoS) of everything the writer publishes."""
    from geometry_msgs.msg import PoseStamped
    from nav_msgs.msg import Path as PathMsg
    from std_msgs.msg import String
    from visualization_msgs.msg import MarkerArray

    return [
        ("writer_status", String, _qos(50, latched=True)),
        ("waypoint", PoseStamped, _qos(1000)),
        ("path", PathMsg, _qos(1, latched=True)),
        ("ink_markers", MarkerArray, _qos(1, latched=True)),
    ]


def joint_trajectory_topic() -> tuple:
    """(topic, type, QoS) of the writer's output:=joints trajectory."""
    from trajectory_msgs.msg import JointTrajectory

    return ("joint_trajectory", JointTrajectory, _qos(1, latched=True))


def sim_outputs() -> list[tuple]:
    """(topic, type, QoS) of everything whiteboard_sim publishes."""
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import String

    return [
        ("sim_status", String, _qos(50, latched=True)),
        ("joint_states", JointState, _qos(100)),
        ("board_image", Image, _qos(1, latched=True)),
    ]


def next_domain_id() -> int:
    return next(_domain_ids)


def ros_base_env() -> dict[str, str]:
    """This process's environment plus what a ROS install would have: the venv as an ament and CMake prefix
    (its share/ holds the wheels' packages, like /opt/ros/<distro>), loopback-only discovery, unbuffered
    node output."""
    env = dict(os.environ)
    for variable in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):  # CMake finds the wheels' packages there
        prefixes = [sys.prefix, *filter(None, env.get(variable, "").split(os.pathsep))]
        env[variable] = os.pathsep.join(dict.fromkeys(prefixes))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    env.pop("ROS_DOMAIN_ID", None)
    return env


def build_workspace(out_dir: Path) -> dict[str, str]:
    """`colcon build` ros2_ws/src into out_dir and return the environment after sourcing its setup.bash."""
    colcon = Path(sys.executable).parent / "colcon"
    env = ros_base_env()
    out_dir.mkdir(parents=True, exist_ok=True)
    build = subprocess.run(
        [
            str(colcon),
            "--log-base", str(out_dir / "log"),
            "build",
            "--base-paths", str(WORKSPACE_SRC),
            "--build-base", str(out_dir / "build"),
            "--install-base", str(out_dir / "install"),
        ],
        cwd=out_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    if build.returncode != 0:
        raise RuntimeError(f"colcon build failed ({build.returncode}):\n{build.stdout}\n{build.stderr}")
    sourced = subprocess.run(
        ["bash", "-c", 'source "$1" && env -0', "bash", str(out_dir / "install" / "setup.bash")],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    entries = sourced.stdout.decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def use_workspace_here(env: dict[str, str]) -> None:
    """Make this (already running) process import the workspace's packages (scribble_interfaces) the way
    a process started from a sourced shell would: its Python paths on sys.path, and its libraries loaded by
    full path, as the dynamic loader read LD_LIBRARY_PATH when this process started, before the build."""
    import ctypes

    for entry in reversed(env.get("PYTHONPATH", "").split(os.pathsep)):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    prefixes = [
        Path(p) for p in env["AMENT_PREFIX_PATH"].split(os.pathsep) if p and Path(p) != Path(sys.prefix)
    ]
    pending = [lib for prefix in prefixes for lib in sorted((prefix / "lib").glob("lib*.so"))]
    while pending:  # in dependency order: retry what failed until nothing more loads
        failed = []
        for lib in pending:
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                failed.append(lib)
        if len(failed) == len(pending):
            raise OSError(f"cannot load {', '.join(map(str, failed))}")
        pending = failed


def executable(env: dict[str, str], name: str) -> Path:
    """The file `ros2 run scribble_bridge <name>` runs: lib/scribble_bridge/<name> under an ament prefix."""
    for prefix in env["AMENT_PREFIX_PATH"].split(os.pathsep):
        candidate = Path(prefix) / "lib" / PACKAGE / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name}: not installed under any AMENT_PREFIX_PATH entry")


def ros_arg(value) -> str:
    """A parameter value as `-p name:=<value>` wants it (YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(ros_arg(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


class NodeProcess:
    """One scribble_bridge executable running as its own process on `domain_id`."""

    def __init__(self, env: dict[str, str], name: str, domain_id: int, log_dir: Path, **params):
        args = [str(executable(env, name)), "--ros-args"]
        for key, value in params.items():
            args += ["-p", f"{key}:={ros_arg(value)}"]
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._stdout_path = log_dir / f"{name}.out"
        self._stderr_path = log_dir / f"{name}.err"
        run_env = {
            **env,
            "PYTHONFAULTHANDLER": "1",  # a node that hangs dumps its threads' stacks at SIGABRT (interrupt)
            "ROS_DOMAIN_ID": str(domain_id),
            "ROS_LOG_DIR": str(log_dir / "ros"),
        }
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.process = subprocess.Popen(args, env=run_env, stdout=out, stderr=err)

    @property
    def stdout(self) -> str:
        return self._stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    def wait(self, timeout_s: float) -> int:
        return self.process.wait(timeout=timeout_s)

    def interrupt(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C: send SIGINT and return the exit code. A node still running `timeout_s` later is aborted,
        and the failure shows where each of its threads was (faulthandler's dump in its stderr)."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(10)
            raise AssertionError(
                f"{self.name} did not exit within {timeout_s:.0f} s of SIGINT; aborted:\n{self.describe()}"
            ) from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def describe(self) -> str:
        return f"{self.name} (rc={self.process.poll()}):\n{self.stdout}\n{self.stderr}"

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ActionProbe:
    """An rclpy ActionClient for scribble_interfaces/action/Write on the probe's node, recording feedback."""

    def __init__(self, probe: RosProbe, name: str = "write"):
        from rclpy.action import ActionClient
        from scribble_interfaces.action import Write

        self.probe = probe
        self.Write = Write
        self.client = ActionClient(probe.node, Write, name)
        self.feedback: dict[bytes, list[tuple[float, object]]] = defaultdict(list)  # goal id -> feedback

    def wait_for_server(self, timeout_s: float, node: NodeProcess | None = None) -> None:
        self.probe.spin_until(self.client.server_is_ready, timeout_s, "the write action server", node)

    def send(self, timeout_s: float = 30, node: NodeProcess | None = None, **goal_fields):
        """Send a goal; its (accepted) goal handle once the server answered."""
        goal = self.Write.Goal(**goal_fields)
        future = self.client.send_goal_async(goal, feedback_callback=self._on_feedback)
        self.probe.spin_until(future.done, timeout_s, "the goal response", node)
        return future.result()

    def result(self, handle, timeout_s: float, node: NodeProcess | None = None):
        """(status, result) of an accepted goal once it ends."""
        future = handle.get_result_async()
        self.probe.spin_until(future.done, timeout_s, "the goal's result", node)
        response = future.result()
        return response.status, response.result

    def feedback_of(self, handle) -> list:
        return [msg for _, msg in self.feedback[bytes(handle.goal_id.uuid)]]

    def _on_feedback(self, msg) -> None:
        self.feedback[bytes(msg.goal_id.uuid)].append((time.monotonic(), msg.feedback))


class RosProbe:
    """The test's own rclpy node on `domain_id`: publishes requests and records what the bridge publishes."""

    def __init__(self, domain_id: int):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.received: dict[str, list] = defaultdict(list)  # topic -> [(arrival monotonic s, message)]
        self._publishers = {}

    def listen(self, topic: str, msg_type, qos) -> list:
        self.node.create_subscription(
            msg_type, topic, lambda msg: self.received[topic].append((time.monotonic(), msg)), qos
        )
        return self.received[topic]

    def messages(self, topic: str) -> list:
        return [msg for _, msg in self.received[topic]]

    def statuses(self, topic: str) -> list[dict]:
        return [json.loads(msg.data) for msg in self.messages(topic)]

    def publish(self, topic: str, message, qos=10) -> None:
        if topic not in self._publishers:
            self._publishers[topic] = self.node.create_publisher(type(message), topic, qos)
        self._publishers[topic].publish(message)

    def wait_for_status(
        self, topic: str, state: str, timeout_s: float, node: NodeProcess | None = None
    ) -> dict:
        """Wait for a status {"state": state, ...} on `topic` (listened to already); return it."""
        self.spin_until(lambda: state in [s["state"] for s in self.statuses(topic)], timeout_s, state, node)
        return next(s for s in self.statuses(topic) if s["state"] == state)

    def wait_for_subscriber(
        self, topic: str, message_type, timeout_s: float, node: NodeProcess | None = None, qos=10
    ) -> None:
        """Wait until the node under test subscribes to `topic` (that is: it has started)."""
        if topic not in self._publishers:
            self._publishers[topic] = self.node.create_publisher(message_type, topic, qos)
        publisher = self._publishers[topic]
        self.spin_until(
            lambda: publisher.get_subscription_count() > 0, timeout_s, f"a subscriber on {topic}", node=node
        )

    def spin_until(
        self, done: Callable[[], bool], timeout_s: float, what: str, node: NodeProcess | None = None
    ):
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                detail = node.describe() if node is not None else ""
                raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{detail}")
            if node is not None and node.process.poll() is not None:
                raise AssertionError(f"{node.name} exited while waiting for {what}\n{node.describe()}")
            self.executor.spin_once(timeout_sec=0.02)

    def result(self, future, timeout_s: float, what: str):
        """Spin until an rclpy future (a service call) completes; its result."""
        self.spin_until(future.done, timeout_s, what)
        return future.result()

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> RosProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def running_writer(env: dict[str, str], checkpoint: Path, tmp_path: Path) -> Iterator[tuple]:
    """A writer node with `checkpoint` (quick moves) and a probe on a domain of their own, both ready."""
    from std_msgs.msg import String

    domain = next_domain_id()
    params = {"checkpoint": str(checkpoint), **FAST_WRITER}
    with NodeProcess(env, "writer", domain, tmp_path, **params) as node, RosProbe(domain) as probe:
        for topic, msg_type, qos in writer_outputs():
            probe.listen(topic, msg_type, qos)
        # "ready" arrives once the node runs and its statuses reach the probe; then its input is matched too.
        probe.wait_for_status("writer_status", "ready", START_S, node)
        probe.wait_for_subscriber("text", String, START_S, node=node)
        yield node, probe


def poses_xyz(poses) -> np.ndarray:
    """PoseStamped messages -> (N, 3) positions."""
    return np.array([[p.pose.position.x, p.pose.position.y, p.pose.position.z] for p in poses])


def stamps_s(messages) -> np.ndarray:
    """Stamped messages -> (N,) header stamps in seconds."""
    return np.array([m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in messages])


def rgb_pixels(image) -> np.ndarray:
    """sensor_msgs/Image (rgb8 or mono8) -> (H, W, 3) uint8."""
    channels = {"rgb8": 3, "mono8": 1}[image.encoding]
    rows = np.frombuffer(bytes(image.data), dtype=np.uint8).reshape(image.height, image.step)
    pixels = rows[:, : image.width * channels].reshape(image.height, image.width, channels)
    return np.repeat(pixels, 3, axis=2) if channels == 1 else pixels


def board_pixels(xy_m: np.ndarray, board, px_per_m: float) -> np.ndarray:
    """(N, 2) board-frame x, y (m) -> (N, 2) [col, row]; row 0 is the top edge seen from the arm."""
    return np.stack(
        [(xy_m[:, 0] + board.width_m / 2) * px_per_m, (board.height_m / 2 - xy_m[:, 1]) * px_per_m], 1
    )


def densify(run: np.ndarray, step_m: float = 0.0005) -> np.ndarray:
    """A polyline (K, 2) resampled every `step_m` along its length."""
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(run, axis=0), axis=1))])
    at = np.linspace(0.0, length[-1], max(int(length[-1] / step_m), 1) + 1)
    return np.stack([np.interp(at, length, run[:, d]) for d in range(2)], axis=1)


def ink_pixels(image_msg) -> int:
    return int((rgb_pixels(image_msg)[:, :, 0] < 128).sum())


def final_image_arrived(probe: RosProbe) -> bool:
    """whiteboard_sim's done status and the board image it reports (they travel on different topics)."""
    done = [s for s in probe.statuses("sim_status") if s["state"] == "done"]
    images = probe.messages("board_image")
    return bool(done and images) and ink_pixels(images[-1]) == done[-1]["ink_pixels"]


def assert_ink_follows_the_plan(ink: np.ndarray, path, board) -> None:
    """Where the Path puts the pen down, rasterized: every inked pixel is close to it (4 px), and nearly
    all of it is inked (within 2 px)."""
    from scipy.ndimage import distance_transform_edt

    px_per_m = ink.shape[1] / board.width_m
    xyz = poses_xyz(path.poses)
    runs = pen_down_runs(xyz, np.abs(xyz[:, 2]) < 1e-9)
    planned = np.concatenate([board_pixels(densify(run[:, :2]), board, px_per_m) for run in runs])
    planned_mask = np.zeros_like(ink)
    cols, rows = np.floor(planned).astype(int).T
    planned_mask[rows, cols] = True
    distance_to_plan = distance_transform_edt(~planned_mask)
    assert (distance_to_plan[ink] <= 4).mean() > 0.98
    distance_to_ink = distance_transform_edt(~ink)
    assert (distance_to_ink[rows, cols] <= 2).mean() > 0.9


TINY_MODEL = {"d_model": 32, "n_heads": 2, "n_enc_layers": 1, "n_dec_layers": 1, "d_ff": 64, "max_steps": 256}


def make_overfit_checkpoint(
    path: Path, text: str = "hi", model: dict | None = None, train_steps: int = 80, lr: float = 3e-3
) -> Path:
    """A model (ModelConfig fields `model`, default TINY_MODEL) overfit on one synthetic sample of `text`:
    whatever it is asked, greedy decoding writes that sample, on the board and left to right. Seconds to
    make for the tiny model; enough for the protocol tests, and a stand-in with real per-step cost for the
    bench when no trained model is shipped."""
    import torch

    from trajtok.checkpoint import save_checkpoint
    from trajtok.data.hershey import synthesize
    from trajtok.model import StrokeTransformer
    from trajtok.model_config import ModelConfig
    from trajtok.text import CharTokenizer
    from trajtok.tokenizer import TrajectoryTokenizer

    sample = synthesize(text, style_id=0, seed=0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=16).fit([sample.deltas])
    text_tokenizer = CharTokenizer()
    config = ModelConfig(**{**(TINY_MODEL if model is None else model), "dropout": 0.0})
    torch.manual_seed(0)
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    tokens = torch.as_tensor(tokenizer.encode(sample.deltas, sample.events, add_eos=True))[None]  # (1, T, C)
    ids = torch.as_tensor(text_tokenizer.encode(text)[0])[None]
    pad = torch.zeros_like(ids, dtype=torch.bool)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on one sample train fastest on one core
    try:
        for _ in range(train_steps):
            logits = model(ids, pad, tokens, None).logits
            loss = sum(
                torch.nn.functional.cross_entropy(lg[0], tokens[0, :, c]) for c, lg in enumerate(logits)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    extra = {"max_steps_per_char": float(len(tokens[0]))}  # room for the whole sample even for one character
    return save_checkpoint(path, model, tokenizer, text_tokenizer, config, extra)
