"""ROS 2 writer: request -> first waypoint, the stream's rate, and the write action's feedback and cancel.

Usage: .venv/bin/python bench/ros_latency.py [--phrase "hello world"] [--repeats 3] [--rate 50]

Real thing end to end: colcon builds ros2_ws into a temporary directory, the `writer` executable runs as its
own process, and this script talks to it over DDS on loopback with rclpy. Model: the shipped one when it
exists, else a model of the default architecture overfit on one synthetic sample of the phrase (same
per-step cost, and strokes that stay on the board). Board: the tests' quick moves (0.2 m/s writing, which
leaves the generator less slack than the default 0.05 m/s), greedy decoding, at `--rate` Hz.

Figures per request (times are arrivals at this process):
- first_waypoint_ms: request published -> first PoseStamped received.
- baseline_first_waypoint_ms (same run, same node): request -> the writer's "planned" status, i.e. when a
  writer that generates and plans everything before publishing could send its first waypoint.
- stream_rate_ratio: achieved waypoints/s over the whole stream / configured rate (1.0 = on time).
- worst_gap_ms: the largest gap between two consecutive waypoints received (20 ms at 50 Hz when on time);
  late_gaps: gaps over two control periods.
- starved_waypoints (writer side): waypoints not yet planned when due, i.e. the generator fell behind;
  writer_worst_late_ms: the longest the pacer thread published after a due time (a busy CPU).

Per request through the `write` action (an rclpy ActionClient with scribble_interfaces/action/Write):
- goal_first_feedback_ms: goal sent -> first feedback received; goal_first_waypoint_ms: -> first waypoint.
- cancel_pen_lifted_ms: cancel sent (mid-phrase, the pen on the board) -> the first pose received that is off
  the board by the pen-up clearance (target <= 200 ms); baseline lift_motion_ms (same run): the time the
  lift's own poses are stamped to take from the surface to the clearance, i.e. the motion alone.
Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import ros_support  # noqa: E402  (the tests' colcon/rclpy harness)
from std_msgs.msg import String  # noqa: E402

from trajtok.board import BoardConfig  # noqa: E402
from trajtok.checkpoint import SHIPPED_DIR, SHIPPED_FILE  # noqa: E402

START_S = 120
DONE_S = 300


def checkpoint(phrase: str, scratch: Path) -> tuple[Path, str]:
    shipped = SHIPPED_DIR / SHIPPED_FILE
    if shipped.is_file():
        return shipped, "shipped"
    print("no shipped model: overfitting the default architecture on the phrase (~15 s)", file=sys.stderr)
    path = ros_support.make_overfit_checkpoint(
        scratch / "overfit.pt", phrase, model={}, train_steps=150, lr=1e-3
    )
    return path, "default architecture, overfit on the phrase"


def measure(probe: ros_support.RosProbe, node: ros_support.NodeProcess, phrase: str, rate_hz: float) -> dict:
    n_waypoints_before = len(probe.received["waypoint"])
    n_status_before = len(probe.received["writer_status"])
    sent = time.monotonic()
    probe.publish("text", String(data=phrase))

    def statuses() -> list[tuple[float, dict]]:
        return [(t, json.loads(m.data)) for t, m in probe.received["writer_status"][n_status_before:]]

    probe.spin_until(
        lambda: any(s["state"] in ("done", "error") for _, s in statuses()), DONE_S, "done", node
    )
    final = statuses()[-1][1]
    if final["state"] != "done":
        raise SystemExit(f"ros_latency: the writer refused the phrase: {final}")
    probe.spin_until(
        lambda: len(probe.received["waypoint"]) - n_waypoints_before >= final["waypoints"],
        10,
        "waypoints",
        node,
    )
    arrivals = [t for t, _ in probe.received["waypoint"][n_waypoints_before:]]
    planned = next(t for t, s in statuses() if s["state"] == "planned")
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return {
        "first_waypoint_ms": 1000 * (arrivals[0] - sent),
        "baseline_first_waypoint_ms": 1000 * (planned - sent),
        "stream_rate_ratio": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) / rate_hz,
        "worst_gap_ms": 1000 * max(gaps),
        "late_gaps": sum(gap > 2 / rate_hz for gap in gaps),
        "starved": final["starved"],
        "writer_worst_late_ms": final["worst_late_ms"],
        "waypoints": len(arrivals),
        "stream_s": arrivals[-1] - arrivals[0],
    }


def measure_action(probe, node, action, phrase: str, clearance_m: float) -> dict:
    """One goal written to the end (first feedback), one canceled mid-phrase (pen lifted)."""
    n_before = len(probe.received["waypoint"])
    sent = time.monotonic()
    handle = action.send(node=node, text=phrase)
    status, result = action.result(handle, DONE_S, node)
    if not result.success:
        raise SystemExit(f"ros_latency: the writer refused the goal: {result.message}")
    first_feedback = action.feedback[bytes(handle.goal_id.uuid)][0][0]
    first_waypoint = probe.received["waypoint"][n_before][0]

    waypoints = probe.received["waypoint"]
    n_before = len(waypoints)
    handle = action.send(node=node, text=phrase)

    def pen_on_board_mid_phrase() -> bool:
        return len(waypoints) - n_before > 60 and abs(waypoints[-1][1].pose.position.z) < 1e-9

    probe.spin_until(pen_on_board_mid_phrase, DONE_S, "the pen on the board", node)
    cancel_sent = time.monotonic()
    probe.spin_until(handle.cancel_goal_async().done, 10, "the cancel response", node)
    action.result(handle, DONE_S, node)
    after = [(t, m) for t, m in waypoints[n_before:] if t >= cancel_sent]
    lifted_at, lifted = next((t, m) for t, m in after if m.pose.position.z >= clearance_m - 1e-9)
    up_to_lifted = [m for t, m in waypoints[n_before:] if t <= lifted_at]
    surface = [m for m in up_to_lifted if abs(m.pose.position.z) < 1e-9][-1]  # where the lift started
    stamp = ros_support.stamps_s([surface, lifted])
    return {
        "goal_first_feedback_ms": 1000 * (first_feedback - sent),
        "goal_first_waypoint_ms": 1000 * (first_waypoint - sent),
        "cancel_pen_lifted_ms": 1000 * (lifted_at - cancel_sent),
        "lift_motion_ms": 1000 * (stamp[1] - stamp[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrase", default="hello world")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0, help="control_rate_hz of the stream")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ros_latency_") as tmp:
        scratch = Path(tmp)
        env = ros_support.build_workspace(scratch / "ws")
        ros_support.use_workspace_here(env)  # the action client imports scribble_interfaces
        model_path, model_kind = checkpoint(args.phrase, scratch)
        domain = ros_support.next_domain_id()
        params = {
            "checkpoint": str(model_path),
            **ros_support.FAST_WRITER,  # quick moves: less slack for the generator before the stream starves
            "control_rate_hz": args.rate,
        }
        with (
            ros_support.NodeProcess(env, "writer", domain, scratch / "logs", **params) as node,
            ros_support.RosProbe(domain) as probe,
        ):
            for topic, msg_type, qos in ros_support.writer_outputs():
                probe.listen(topic, msg_type, qos)
            probe.wait_for_status("writer_status", "ready", START_S, node)
            probe.wait_for_subscriber("text", String, START_S, node=node)
            runs = [measure(probe, node, args.phrase, args.rate) for _ in range(args.repeats)]
            action = ros_support.ActionProbe(probe)
            action.wait_for_server(START_S, node)
            clearance = BoardConfig().pen_up_clearance_m  # FAST_WRITER keeps the default clearance
            goals = [measure_action(probe, node, action, args.phrase, clearance) for _ in range(args.repeats)]
            load = os.getloadavg()[0]
            node.interrupt()

    print(
        f"model: {model_kind}; phrase {args.phrase!r}; control rate {args.rate:g} Hz; {args.repeats} requests"
    )
    header = (
        "request",
        "first wp ms",
        "baseline ms",
        "rate ratio",
        "worst gap ms",
        "gaps>2 ticks",
        "starved",
    )
    print("  ".join(f"{h:>12}" for h in header))
    for i, run in enumerate(runs, 1):
        row = (
            i,
            f"{run['first_waypoint_ms']:.1f}",
            f"{run['baseline_first_waypoint_ms']:.1f}",
            f"{run['stream_rate_ratio']:.4f}",
            f"{run['worst_gap_ms']:.1f}",
            run["late_gaps"],
            run["starved"],
        )
        print("  ".join(f"{v:>12}" for v in row))
    header = ("goal", "1st feedback ms", "1st waypoint ms", "cancel->lifted ms", "lift motion ms")
    print("  ".join(f"{h:>17}" for h in header))
    for i, goal in enumerate(goals, 1):
        row = (i, *(f"{goal[k]:.1f}" for k in list(goal)))
        print("  ".join(f"{v:>17}" for v in row))
    first = statistics.median(r["first_waypoint_ms"] for r in runs)
    baseline = statistics.median(r["baseline_first_waypoint_ms"] for r in runs)
    figures = {
        "first_waypoint_ms": round(first, 1),
        "baseline_first_waypoint_ms": round(baseline, 1),
        "first_waypoint_speedup": round(baseline / first, 2),
        "stream_rate_ratio": round(statistics.median(r["stream_rate_ratio"] for r in runs), 4),
        "worst_gap_ms": round(max(r["worst_gap_ms"] for r in runs), 1),
        "late_gaps": sum(r["late_gaps"] for r in runs),
        "starved_waypoints": sum(r["starved"] for r in runs),
        "writer_worst_late_ms": max(r["writer_worst_late_ms"] for r in runs),
        "goal_first_feedback_ms": round(statistics.median(g["goal_first_feedback_ms"] for g in goals), 1),
        "goal_first_waypoint_ms": round(statistics.median(g["goal_first_waypoint_ms"] for g in goals), 1),
        "cancel_pen_lifted_ms": round(max(g["cancel_pen_lifted_ms"] for g in goals), 1),
        "lift_motion_ms": round(statistics.median(g["lift_motion_ms"] for g in goals), 1),
        "control_rate_hz": args.rate,
        "waypoints": runs[0]["waypoints"],
        "model": model_kind,
        "load_avg_1m": round(load, 2),
    }
    print(
        f"first waypoint {first:.1f} ms after the request (target <= 100 ms); "
        f"generating and planning everything first: {baseline:.1f} ms"
    )
    print(
        f"write action: first feedback {figures['goal_first_feedback_ms']:.1f} ms after the goal; cancel -> "
        f"pen off the board by the clearance within {figures['cancel_pen_lifted_ms']:.1f} ms at worst "
        f"(target <= 200 ms), of which the lift's motion is {figures['lift_motion_ms']:.1f} ms"
    )
    print(f"load average while measuring: {load:.2f} on {os.cpu_count()} cores (gaps grow with it)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
