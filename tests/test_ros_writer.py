"""The `writer` node over real DDS on loopback: plan and stream, bad requests, parameters, start-up, Ctrl-C.

The node runs as its own process from the colcon-built workspace, with a tiny model overfit on one sample
of "hi" (greedy decoding writes that sample whatever the request says), so the expected strokes are known.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import ros_support
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from std_msgs.msg import String
from visualization_msgs.msg import Marker
from word_bank_model import as_word_bank_model

from trajtok.board import BoardConfig
from trajtok.data.hershey import synthesize
from trajtok.line_stitching import WORD_GAP_RANGE
from trajtok.strokes import integrate, split_strokes

START_S = ros_support.START_S
DONE_S = 90


def request(probe, node, text: str) -> list[dict]:
    """Send `text`; the statuses of that request once it is done or refused."""
    before = {s.get("request") for s in probe.statuses("writer_status")}
    probe.publish("text", String(data=text))

    def statuses():
        new = {s.get("request") for s in probe.statuses("writer_status")} - before
        return [s for s in probe.statuses("writer_status") if s.get("request") in new]

    def finished():
        return any(s["state"] in ("done", "error") for s in statuses())

    probe.spin_until(finished, DONE_S, f"the end of request {text!r}", node=node)
    return statuses()


def test_a_request_yields_the_whole_plan_on_the_board_and_a_stream_that_ends_done(writer):
    node, probe = writer
    statuses = request(probe, node, "hello")
    states = [s["state"] for s in statuses]
    assert states[0] == "accepted" and states[-1] == "done", statuses
    assert {"writing", "planned"} <= set(states), statuses
    n = statuses[-1]["waypoints"]
    probe.spin_until(lambda: len(probe.messages("waypoint")) >= n, 10, f"{n} waypoints", node=node)

    (path,) = probe.messages("path")
    board = BoardConfig()
    frame = ros_support.FAST_WRITER["board_frame"]
    assert path.header.frame_id == frame and len(path.poses) == n > 10
    xyz = ros_support.poses_xyz(path.poses)
    stamps = ros_support.stamps_s(path.poses)
    np.testing.assert_allclose(np.diff(stamps), 1 / ros_support.FAST_WRITER["control_rate_hz"], atol=1e-6)
    assert all(p.header.frame_id == frame for p in path.poses)
    assert {(p.pose.orientation.x, p.pose.orientation.w) for p in path.poses} == {
        (1.0, 0.0)
    }  # pen into board

    # Pen-down poses lie on the board plane (z = 0 in the board frame) inside the writable area; pen-up
    # travel is lifted off it, never farther than the approach height.
    down = np.abs(xyz[:, 2]) < 1e-9
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    assert down.sum() > 10
    assert (xyz[down, 0] >= u_min - 1e-9).all() and (xyz[down, 0] <= u_max + 1e-9).all()
    assert (xyz[down, 1] >= v_min - 1e-9).all() and (xyz[down, 1] <= v_max + 1e-9).all()
    assert (xyz[~down, 2] > 0).all() and xyz[:, 2].max() <= ros_support.FAST_WRITER["approach_m"] + 1e-9

    # In the right order: the pen-down runs are the strokes of the sample the model learnt, one after
    # the other, scaled by the letter height and placed from the first stroke's start.
    reference = synthesize("hi", style_id=0, seed=0)
    strokes = split_strokes(integrate(reference.deltas, reference.events[:, 0]))
    runs = ros_support.pen_down_runs(xyz, down)
    assert len(runs) == len(strokes)
    height = ros_support.FAST_WRITER["letter_height_m"]
    origin = runs[0][0, :2] - height * strokes[0][0]
    for run, stroke in zip(runs, strokes, strict=True):
        np.testing.assert_allclose(run[[0, -1], :2], origin + height * stroke[[0, -1]], atol=0.002)

    # The PoseStamped stream is the same plan, pose for pose, in time order.
    stream = probe.messages("waypoint")
    assert len(stream) == n
    np.testing.assert_array_equal(ros_support.poses_xyz(stream), xyz)
    stream_stamps = ros_support.stamps_s(stream)
    assert (np.diff(stream_stamps) > 0).all()
    assert abs(stream_stamps[0] - stamps[0]) < 1e-6  # the Path is stamped from when the stream started

    (markers,) = probe.messages("ink_markers")
    assert markers.markers[0].action == Marker.DELETEALL
    strips = markers.markers[1:]
    assert [m.type for m in strips] == [Marker.LINE_STRIP] * len(runs)
    assert [len(m.points) for m in strips] == [len(run) for run in runs]


def test_a_word_bank_model_writes_each_word_apart_and_lays_the_words_out_with_a_word_gap(
    ros_env, overfit_checkpoint, tmp_path
):
    bank = as_word_bank_model(overfit_checkpoint, tmp_path / "bank.pt")
    with ros_support.running_writer(ros_env, bank, tmp_path) as (node, probe):
        statuses = request(probe, node, "hi hi")
        assert statuses[-1]["state"] == "done", statuses
        n = statuses[-1]["waypoints"]
        probe.spin_until(lambda: len(probe.messages("waypoint")) >= n, 10, f"{n} waypoints", node=node)
        (path,) = probe.messages("path")
    xyz = ros_support.poses_xyz(path.poses)
    runs = ros_support.pen_down_runs(xyz, np.abs(xyz[:, 2]) < 1e-9)
    reference = synthesize("hi", style_id=0, seed=0)  # what the tiny model writes for any word
    strokes = split_strokes(integrate(reference.deltas, reference.events[:, 0]))
    assert len(runs) == 2 * len(strokes)  # each word written apart (whole, the model writes "hi" once)
    first, second = runs[: len(strokes)], runs[len(strokes) :]
    shift = second[0][0, :2] - first[0][0, :2]
    for a, b in zip(first, second, strict=True):  # the same word, moved right (the planner samples in time)
        np.testing.assert_allclose(b[:, :2] - a[:, :2], np.broadcast_to(shift, a[:, :2].shape), atol=1e-3)
    height = ros_support.FAST_WRITER["letter_height_m"]
    width = np.ptp(np.concatenate(first)[:, 0])
    gap = (shift[0] - width) / height  # between the ink of the two words, in letter heights
    assert WORD_GAP_RANGE[0] - 0.05 <= gap <= WORD_GAP_RANGE[1] + 0.05, gap


def test_bad_requests_get_an_error_and_the_node_keeps_serving(writer):
    node, probe = writer
    for text, reason in [("", "empty"), ("   ", "empty"), ("x" * 200, "200 characters"), ("héllo", "ASCII")]:
        statuses = request(probe, node, text)
        assert [s["state"] for s in statuses] == ["error"], statuses
        assert reason in statuses[0]["reason"]
    states = [s["state"] for s in request(probe, node, "hi")]
    assert states[0] == "accepted" and states[-1] == "done", states
    assert node.process.poll() is None


def test_requests_sent_together_are_written_one_after_the_other(writer):
    node, probe = writer
    probe.publish("text", String(data="hi"))
    probe.publish("text", String(data="hi there"))
    probe.spin_until(lambda: len(probe.messages("path")) == 2, DONE_S, "two paths", node=node)
    request(probe, node, "hi")  # a third, after both: everything before it is finished
    by_request = {}
    for status in probe.statuses("writer_status"):
        by_request.setdefault(status.get("request"), []).append(status["state"])
    assert by_request[1][0] == "accepted" and by_request[1][-1] == "done"
    assert by_request[2][0] == "accepted" and by_request[2][-1] == "done"
    order = [(s.get("request"), s["state"]) for s in probe.statuses("writer_status")]
    assert order.index((1, "done")) < order.index((2, "writing"))
    first, second = (ros_support.stamps_s(path.poses) for path in probe.messages("path")[:2])
    assert second[0] > first[-1]  # the second plan is stamped from when its stream started, after the first


def test_parameters_have_descriptions_and_ranges_and_bad_updates_are_refused(writer):
    node, probe = writer
    client = AsyncParameterClient(probe.node, "writer")
    assert client.wait_for_services(timeout_sec=30)
    names = ["letter_height_m", "control_rate_hz", "seed", "checkpoint", "board_frame", "temperature"]
    described = probe.result(client.describe_parameters(names), 30, "describe_parameters").descriptors
    by_name = {d.name: d for d in described}
    assert all(by_name[name].description for name in names)
    assert by_name["letter_height_m"].type == ParameterType.PARAMETER_DOUBLE
    assert by_name["letter_height_m"].floating_point_range[0].from_value > 0
    assert by_name["seed"].integer_range[0].from_value == -1
    assert by_name["checkpoint"].read_only

    def set_one(name, value) -> tuple[bool, str]:
        future = client.set_parameters([Parameter(name, value=value)])
        (result,) = probe.result(future, 30, f"set {name}").results
        return result.successful, result.reason

    assert set_one("letter_height_m", -0.01)[0] is False  # out of range
    ok, reason = set_one("write_speed_mps", 0.9)  # in range, but above max_speed_mps
    assert not ok and "max_speed_mps" in reason
    assert set_one("checkpoint", "other.pt")[0] is False  # read-only
    assert set_one("letter_height_m", 0.02) == (True, "")

    values = probe.result(client.get_parameters(["letter_height_m", "write_speed_mps"]), 30, "get").values
    assert [v.double_value for v in values] == [0.02, ros_support.FAST_WRITER["write_speed_mps"]]
    request(probe, node, "hi")  # the new letter height applies to the next request
    xyz = ros_support.poses_xyz(probe.messages("path")[-1].poses)
    reference = synthesize("hi", style_id=0, seed=0)
    points = integrate(reference.deltas, reference.events[:, 0])
    expected_width = 0.02 * float(np.ptp(points[:, 0]))
    assert abs(float(np.ptp(xyz[:, 0])) - expected_width) < 0.003


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"checkpoint": "/nonexistent/no_such_model.pt"},
            "/nonexistent/no_such_model.pt: checkpoint not found",
        ),
        ({"letter_height_m": 5.0}, "letter_height_m out of range"),
        ({"write_speed_mps": 0.9}, "write_speed_mps=0.9 exceeds max_speed_mps"),
    ],
)
def test_a_bad_start_fails_with_one_clear_line(ros_env, overfit_checkpoint, tmp_path, params, message):
    params = {"checkpoint": str(overfit_checkpoint), **params}
    with ros_support.NodeProcess(ros_env, "writer", ros_support.next_domain_id(), tmp_path, **params) as node:
        assert node.wait(START_S) == 2
        lines = node.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("writer: error:"), node.stderr
    assert message in lines[0]


def test_sigint_while_writing_shuts_down_cleanly(writer):
    node, probe = writer
    probe.publish("text", String(data="hi"))
    probe.spin_until(lambda: len(probe.messages("waypoint")) >= 5, DONE_S, "the stream to start", node=node)
    assert node.interrupt() == 0, node.describe()
    assert "Traceback" not in node.stderr, node.stderr
    assert "done" not in [json.loads(m.data)["state"] for m in probe.messages("writer_status")]


RACE_NODE = '''
import rclpy
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node


class ShutdownMidWait(Node):
    """Shuts the context down, then makes a wait set on it: what an executor meets when a signal's
    shutdown lands between its check of the context and its wait set."""

    def __init__(self):
        super().__init__("shutdown_race")
        self.create_timer(0.05, self.race)

    def race(self):
        rclpy.shutdown(context=self.context)
        _rclpy.WaitSet(0, 0, 0, 0, 0, 0, self.context.handle)
'''


def test_a_shutdown_that_lands_while_the_executor_makes_its_wait_set_exits_cleanly(ros_env, tmp_path):
    (tmp_path / "race_node.py").write_text(RACE_NODE)
    env = {**ros_env, "PYTHONPATH": f"{tmp_path}:{ros_env.get('PYTHONPATH', '')}"}
    env["ROS_DOMAIN_ID"] = str(ros_support.next_domain_id())
    code = (
        "from scribble_bridge.runner import run_node\n"
        "raise SystemExit(run_node('race', 'race_node:ShutdownMidWait'))"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
