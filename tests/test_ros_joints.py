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

from trajtok.board import BoardConfig
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
        (trajectory,) = probe.messages("joint_trajectory")
        (path,) = probe.messages("path")
        sim_statuses = probe.statuses("sim_status")
        image = ros_support.rgb_pixels(probe.messages("board_image")[-1])[:, :, 0]

        # Cancel half-way: a new trajectory, starting from where the arm is due to be, lifts the pen off.
        action = ros_support.ActionProbe(probe)
        action.wait_for_server(30, writer)
        handle = action.send(node=writer, text="hi")
        probe.spin_until(
            lambda: len(probe.messages("joint_trajectory")) == 2, DONE_S, "the trajectory", writer
        )
        probe.spin_until(
            lambda: action.feedback_of(handle)[-1].waypoints_done > 60, DONE_S, "half-way", writer
        )
        cancel = handle.cancel_goal_async()
        probe.spin_until(cancel.done, 10, "the cancel response", writer)
        status, canceled = action.result(handle, DONE_S, writer)
        assert status == GoalStatus.STATUS_CANCELED, canceled.message
        probe.spin_until(lambda: len(probe.messages("joint_trajectory")) == 3, 10, "the lift-off", writer)
        planned, lift = probe.messages("joint_trajectory")[1:]

        # Too fast for the arm's joints (2 m/s on a board raised 10 cm, where the elbow turns fastest):
        # refused with the reason, before anything is sent.
        client = AsyncParameterClient(probe.node, "writer")
        assert client.wait_for_services(timeout_sec=30)
        fast = [
            ("max_speed_mps", 2.0),
            ("max_accel_mps2", 20.0),
            ("write_speed_mps", 2.0),
            ("board_center_z_m", BoardConfig().center_m[2] + 0.1),
        ]
        for name, value in fast:
            (result,) = probe.result(client.set_parameters([Parameter(name, value=value)]), 30, name).results
            assert result.successful, result.reason
        handle = action.send(node=writer, text="hi")
        status, result = action.result(handle, DONE_S, writer)
        assert status == GoalStatus.STATUS_ABORTED and "joint" in result.message and "limit" in result.message
        assert len(probe.messages("joint_trajectory")) == 3  # nothing more
        assert writer.interrupt() == 0 and sim.interrupt() == 0, writer.describe() + sim.describe()
        assert "Traceback" not in writer.stderr + sim.stderr

    assert not probe.messages("waypoint")  # output:=joints: no pose stream
    assert list(trajectory.joint_names) == [f"panda_joint{i}" for i in range(1, 8)]
    assert len(trajectory.points) == len(path.poses) > 10
    stamps = ros_support.stamps_s(path.poses)
    start = trajectory.header.stamp.sec + 1e-9 * trajectory.header.stamp.nanosec
    offsets = np.array([p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in trajectory.points])
    np.testing.assert_allclose(start + offsets, stamps, atol=1e-6)  # the points are due when the plan says
    positions = np.array([p.positions for p in trajectory.points])
    velocities = np.array([p.velocities for p in trajectory.points])
    board = BoardConfig()
    with JointPlanner(board) as limits:  # the Panda's limits, from its URDF
        assert (positions >= limits.lower).all() and (positions <= limits.upper).all()
        assert (np.abs(velocities) <= limits.max_velocity).all()

        # The lift-off starts at the planned point due next (its own clock) and ends with the pen retracted.
        def tip(q) -> np.ndarray:  # board-frame pen tip of joint positions q
            limits.ik.robot.reset(np.asarray(q))
            return board.to_board(limits.ik.robot.tip_pose()[0][None])[0]

        lift_start = lift.header.stamp.sec + 1e-9 * lift.header.stamp.nanosec
        planned_start = planned.header.stamp.sec + 1e-9 * planned.header.stamp.nanosec
        due = [
            planned_start + p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in planned.points
        ]
        at = int(np.argmin(np.abs(np.array(due) - lift_start)))
        np.testing.assert_allclose(lift.points[0].positions, planned.points[at].positions, atol=1e-3)
        assert 0 < at < len(planned.points) - 1  # half-way, not at the end
        assert tip(lift.points[-1].positions)[2] == pytest.approx(
            ros_support.FAST_BOARD["approach_m"], abs=1e-4
        )
        assert all(
            abs(v) <= m for p in lift.points for v, m in zip(p.velocities, limits.max_velocity, strict=True)
        )
    np.testing.assert_allclose(np.gradient(positions, offsets, axis=0)[1:-1], velocities[1:-1], atol=1e-6)

    assert [s["state"] for s in sim_statuses] == ["ready", "writing", "done"], sim_statuses
    ink = image < 128
    assert ink.sum() == sim_statuses[-1]["ink_pixels"] > 100
    ros_support.assert_ink_follows_the_plan(ink, path, board)
