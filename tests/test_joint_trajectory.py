"""Waypoints -> joint trajectory (the sim's IK): limits checked; replayed in the sim it tracks the plan."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from trajtok.board import BoardConfig
from trajtok.data.hershey import synthesize
from trajtok.motion_profile import Waypoints
from trajtok.strokes import integrate
from trajtok.waypoints import plan_waypoints
from trajtok_sim.joint_trajectory import ArmConfig, JointLimitError, JointPlanner
from trajtok_sim.scene import ARM_JOINTS, write_robot_urdf
from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim

BOARD = BoardConfig(write_speed_mps=0.1, travel_speed_mps=0.2)


@pytest.fixture(scope="module")
def plan() -> Waypoints:
    sample = synthesize("hi", style_id=0, seed=0)
    return plan_waypoints(integrate(sample.deltas, sample.events[:, 0]), BOARD)


@pytest.fixture(scope="module")
def planner():
    with JointPlanner(BOARD) as planner:
        yield planner


def test_replayed_in_the_sim_the_pen_tip_tracks_the_board_path_within_a_millimetre(plan, planner):
    trajectory = planner.solve(plan)
    assert trajectory.joint_names == ARM_JOINTS
    assert trajectory.positions.shape == trajectory.velocities.shape == (len(plan), 7)
    np.testing.assert_array_equal(trajectory.t_s, plan.t_s)
    assert trajectory.max_tip_error_m < 1e-4

    # Within the Panda's limits (as its URDF states them), every point.
    lower, upper, max_velocity = planner.lower, planner.upper, planner.max_velocity
    assert (trajectory.positions >= lower).all() and (trajectory.positions <= upper).all()
    assert (np.abs(trajectory.velocities) <= max_velocity).all()
    np.testing.assert_allclose(max_velocity, [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61], atol=0.01)
    assert (trajectory.velocities[[0, -1]] == 0).all()
    # Velocities are what the positions do (a controller interpolating them gets no jumps).
    mid = len(plan) // 2
    dq = (trajectory.positions[mid + 1] - trajectory.positions[mid - 1]) / (
        plan.t_s[mid + 1] - plan.t_s[mid - 1]
    )
    np.testing.assert_allclose(trajectory.velocities[mid], dq, atol=1e-9)

    with WhiteboardSim(WhiteboardConfig(board=BOARD)) as sim:
        result = sim.execute_joints(trajectory.t_s, trajectory.positions)
    # The tip, at every physics step, against the board path the plan says for that time.
    planned = np.stack([np.interp(result.t_s, plan.t_s, plan.xyz_m[:, d]) for d in range(3)], axis=1)
    error_mm = 1000 * np.linalg.norm(result.tracked_xyz_m - planned, axis=1)
    assert error_mm.max() <= 1.0, f"worst tracking error {error_mm.max():.3f} mm"
    down = np.interp(result.t_s, plan.t_s, plan.pen_down.astype(float)) == 1.0
    assert result.metrics["inked_fraction"] > 0.95 and result.inking[down].mean() > 0.95
    np.testing.assert_array_equal(result.pen_down.any(), True)


def test_a_plan_too_fast_for_a_joint_or_out_of_reach_is_refused_with_the_reason(plan, planner):
    fast = Waypoints(plan.t_s / 20, plan.xyz_m, plan.pen_down)  # the same path in a twentieth of the time
    with pytest.raises(
        JointLimitError, match=r"joint panda_joint\d would move at [\d.]+ rad/s .* its limit is"
    ):
        planner.solve(fast)
    far = plan.xyz_m + [0.6, 0.0, 0.0]  # behind the board, out of the arm's reach
    with pytest.raises(JointLimitError, match="out of the arm's reach"):
        planner.solve(Waypoints(plan.t_s, far, plan.pen_down))
    trajectory = planner.solve(plan)
    bent = dataclasses.replace(trajectory, positions=trajectory.positions.copy())
    bent.positions[5, 3] = planner.upper[3] + 0.1
    with pytest.raises(JointLimitError, match="joint panda_joint4 would be at .* its range is"):
        planner.check(bent)


def test_the_urdf_and_joint_names_are_parameters(plan, planner, tmp_path):
    """The same arm under other names reaches every waypoint; names it lacks are refused. (Its start is the
    middle of its joint ranges, not the Panda's ready pose, so the free roll about the pen may differ.)"""
    root = ET.parse(write_robot_urdf(tmp_path)).getroot()
    for joint in root.iter("joint"):
        joint.set("name", joint.get("name").replace("panda_joint", "arm_"))
    urdf = tmp_path / "renamed.urdf"
    ET.ElementTree(root).write(urdf)
    names = tuple(f"arm_{i}" for i in range(1, 8))
    with JointPlanner(BOARD, ArmConfig(urdf=str(urdf), joint_names=names)) as renamed:
        ours = renamed.solve(plan)
    assert ours.joint_names == names and ours.positions.shape == (len(plan), 7)
    assert ours.max_tip_error_m < 1e-4
    with pytest.raises(ValueError, match="no joints panda_joint1"):
        JointPlanner(BOARD, ArmConfig(urdf=str(urdf)))
    with pytest.raises(FileNotFoundError, match="robot URDF not found"):
        JointPlanner(BOARD, ArmConfig(urdf=str(tmp_path / "none.urdf")))
