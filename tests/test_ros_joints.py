"""output:=joints over real DDS: the writer's JointTrajectory, whiteboard_sim following it, joint-limit
refusals; and the launch file (launch / launch_ros have no PyPI wheels: its declarations are checked, and
the nodes are started with the parameters it gives them)."""

import importlib.util

import numpy as np
import pytest
import ros_support
from action_msgs.msg import GoalStatus
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from std_msgs.msg import String

from trajtok.waypoints import BoardConfig
from trajtok_sim.joint_trajectory import JointPlanner

LAUNCH_FILE = ros_support.WORKSPACE_SRC / "scribble_bridge" / "launch" / "scribble.launch.py"
DONE_S = 120


def load_launch_file():
    spec = importlib.util.spec_from_file_location("scribble_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launch_parameters(output: str) -> dict[str, dict]:
    """executable -> parameters, as the launch file gives them for `output:=...`."""
    launch = load_launch_file()
    given = {"$(output)": output, "$(sim_source)": launch.SIM_SOURCE[output]}
    return {exe: {k: given.get(v, v) for k, v in params.items()} for exe, params in launch.NODES}


def test_the_launch_file_declares_installed_nodes_with_parameters_they_accept(ros_env):
    from scribble_bridge.parameters import BOARD_PARAMS
    from scribble_bridge.whiteboard_sim_node import SIM_PARAMS, SOURCES
    from scribble_bridge.writer_node import ALL_PARAMS

    launch = load_launch_file()
    assert set(launch.ARGUMENTS) == {"output"} and launch.ARGUMENTS["output"][0] == "poses"
    assert set(launch.SIM_SOURCE) == {"poses", "joints"} and set(launch.SIM_SOURCE.values()) <= set(SOURCES)
    declared = {"writer": ALL_PARAMS, "whiteboard_sim": BOARD_PARAMS + SIM_PARAMS}
    for output in launch.SIM_SOURCE:
        for executable, params in launch_parameters(output).items():
            assert ros_support.executable(ros_env, executable).is_file()  # what `ros2 run` would start
            specs = {spec.name: spec for spec in declared[executable]}
            assert set(params) <= set(specs), set(params) - set(specs)
            for name, value in params.items():
                assert type(value) is type(specs[name].default), name
                if specs[name].limits:
                    low, high = specs[name].limits
                    assert low <= value <= high, name
    try:
        import launch_ros  # noqa: F401  (a ROS install has it: build the real description too)
    except ImportError:
        with pytest.raises(ImportError):
            launch.generate_launch_description()
    else:
        assert len(launch.generate_launch_description().entities) == 2


@pytest.mark.slow
def test_the_joint_trajectory_is_within_the_pandas_limits_and_the_sim_following_it_inks_the_plan(
    ros_env, overfit_checkpoint, tmp_path
):
    domain = ros_support.next_domain_id()
    params = launch_parameters("joints")
    writer_params = {**params["writer"], **ros_support.FAST_WRITER, "checkpoint": str(overfit_checkpoint)}
    sim_params = {**params["whiteboard_sim"], **ros_support.FAST_BOARD}
    with (
        ros_support.NodeProcess(ros_env, "writer", domain, tmp_path, **writer_params) as writer,
        ros_support.NodeProcess(ros_env, "whiteboard_sim", domain, tmp_path, **sim_params) as sim,
        ros_support.RosProbe(domain) as probe,
    ):
        outputs = ros_support.writer_outputs() + ros_support.sim_outputs()
        for topic, msg_type, qos in [*outputs, ros_support.joint_trajectory_topic()]:
            probe.listen(topic, msg_type, qos)
        probe.wait_for_status("writer_status", "ready", ros_support.START_S, writer)
        probe.wait_for_status("sim_status", "ready", ros_support.START_S, sim)
        probe.wait_for_subscriber("text", String, ros_support.START_S, node=writer)
        probe.publish("text", String(data="hi"))
        probe.spin_until(lambda: ros_support.final_image_arrived(probe), DONE_S, "sim", sim)

        # Too fast for the arm's joints: refused with the reason, before anything is sent.
        client = AsyncParameterClient(probe.node, "writer")
        assert client.wait_for_services(timeout_sec=30)
        fast = [("max_speed_mps", 2.0), ("max_accel_mps2", 20.0), ("write_speed_mps", 1.5)]
        for name, value in fast:
            (result,) = probe.result(client.set_parameters([Parameter(name, value=value)]), 30, name).results
            assert result.successful, result.reason
        action = ros_support.ActionProbe(probe)
        action.wait_for_server(30, writer)
        handle = action.send(node=writer, text="hi")
        status, result = action.result(handle, DONE_S, writer)
        assert status == GoalStatus.STATUS_ABORTED and "joint" in result.message and "limit" in result.message
        assert len(probe.messages("joint_trajectory")) == 1
        assert writer.interrupt() == 0 and sim.interrupt() == 0, writer.describe() + sim.describe()
        assert "Traceback" not in writer.stderr + sim.stderr

    assert not probe.messages("waypoint")  # output:=joints: no pose stream
    (trajectory,) = probe.messages("joint_trajectory")
    (path,) = probe.messages("path")
    assert list(trajectory.joint_names) == [f"panda_joint{i}" for i in range(1, 8)]
    assert len(trajectory.points) == len(path.poses) > 10
    stamps = ros_support.stamps_s(path.poses)
    start = trajectory.header.stamp.sec + 1e-9 * trajectory.header.stamp.nanosec
    offsets = np.array([p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in trajectory.points])
    np.testing.assert_allclose(start + offsets, stamps, atol=1e-6)  # the points are due when the plan says
    positions = np.array([p.positions for p in trajectory.points])
    velocities = np.array([p.velocities for p in trajectory.points])
    with JointPlanner(BoardConfig()) as limits:  # the Panda's limits, from its URDF
        assert (positions >= limits.lower).all() and (positions <= limits.upper).all()
        assert (np.abs(velocities) <= limits.max_velocity).all()
    np.testing.assert_allclose(np.gradient(positions, offsets, axis=0)[1:-1], velocities[1:-1], atol=1e-6)

    states = [s["state"] for s in probe.statuses("sim_status")]
    assert states == ["ready", "writing", "done"], states
    image = ros_support.rgb_pixels(probe.messages("board_image")[-1])[:, :, 0]
    ink = image < 128
    assert ink.sum() == probe.statuses("sim_status")[-1]["ink_pixels"] > 100
    ros_support.assert_ink_follows_the_plan(ink, path, BoardConfig())
