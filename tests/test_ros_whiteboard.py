"""writer -> whiteboard_sim end to end over DDS: the simulated arm inks the board where the plan says.

Both nodes run as their own processes from the colcon-built workspace; the writer uses a tiny model overfit
on one sample of "hi". The sim follows either the PoseStamped stream or the whole Path.
"""

import numpy as np
import pytest
import ros_support
from scipy.ndimage import distance_transform_edt
from std_msgs.msg import String

from trajtok.board import BoardConfig

START_S = 90
DONE_S = 120


def board_pixels(xy_m: np.ndarray, board: BoardConfig, px_per_m: float) -> np.ndarray:
    """(N, 2) board-frame x, y (m) -> (N, 2) [col, row]; row 0 is the top edge seen from the arm."""
    return np.stack(
        [(xy_m[:, 0] + board.width_m / 2) * px_per_m, (board.height_m / 2 - xy_m[:, 1]) * px_per_m], 1
    )


def densify(run: np.ndarray, step_m: float = 0.0005) -> np.ndarray:
    """A polyline (K, 2) resampled every `step_m` along its length."""
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(run, axis=0), axis=1))])
    at = np.linspace(0.0, length[-1], max(int(length[-1] / step_m), 1) + 1)
    return np.stack([np.interp(at, length, run[:, d]) for d in range(2)], axis=1)


def final_image_arrived(probe) -> bool:
    done = [s for s in probe.statuses("sim_status") if s["state"] == "done"]
    images = probe.messages("board_image")
    return bool(done and images) and ink_pixels(images[-1]) == done[-1]["ink_pixels"]


def ink_pixels(image_msg) -> int:
    return int((ros_support.rgb_pixels(image_msg)[:, :, 0] < 128).sum())


@pytest.mark.slow
@pytest.mark.parametrize("source", ["waypoint", "path"])
def test_the_simulated_arm_inks_the_board_where_the_phrase_is(ros_env, overfit_checkpoint, tmp_path, source):
    domain = ros_support.next_domain_id()
    writer_params = {"checkpoint": str(overfit_checkpoint), **ros_support.FAST_WRITER}
    sim_params = {**ros_support.FAST_BOARD, "source": source}
    with (
        ros_support.NodeProcess(ros_env, "writer", domain, tmp_path, **writer_params) as writer,
        ros_support.NodeProcess(ros_env, "whiteboard_sim", domain, tmp_path, **sim_params) as sim,
        ros_support.RosProbe(domain) as probe,
    ):
        for topic, msg_type, qos in ros_support.writer_outputs() + ros_support.sim_outputs():
            probe.listen(topic, msg_type, qos)
        probe.wait_for_status("writer_status", "ready", START_S, writer)
        probe.wait_for_status("sim_status", "ready", START_S, sim)
        probe.wait_for_subscriber("text", String, START_S, node=writer)
        probe.publish("text", String(data="hi"))
        # The board image and the done status travel on different topics, in no set order: wait for the
        # done status and for the image published just before it (the one with the ink it reports).
        probe.spin_until(lambda: final_image_arrived(probe), DONE_S, "sim", sim)
        assert writer.interrupt() == 0 and sim.interrupt() == 0, writer.describe() + sim.describe()
        assert "Traceback" not in writer.stderr + sim.stderr

    states = [s["state"] for s in probe.statuses("sim_status")]
    assert states == ["ready", "writing", "done"], states
    (path,) = probe.messages("path")
    done = probe.statuses("sim_status")[-1]
    assert done["waypoints"] == len(path.poses)

    image = ros_support.rgb_pixels(probe.messages("board_image")[-1])[:, :, 0]  # the final one
    board = BoardConfig()
    px_per_m = image.shape[1] / board.width_m
    assert image.shape[0] == round(board.height_m * px_per_m)
    ink = image < 128
    assert ink.sum() == done["ink_pixels"] > 100

    # Where the plan puts the pen down, rasterized: every inked pixel is close to it, and nearly all of it
    # is inked.
    xyz = ros_support.poses_xyz(path.poses)
    runs = ros_support.pen_down_runs(xyz, np.abs(xyz[:, 2]) < 1e-9)
    planned = np.concatenate([board_pixels(densify(run[:, :2]), board, px_per_m) for run in runs])
    planned_mask = np.zeros_like(ink)
    cols, rows = np.floor(planned).astype(int).T
    planned_mask[rows, cols] = True
    distance_to_plan = distance_transform_edt(~planned_mask)
    assert (distance_to_plan[ink] <= 4).mean() > 0.98
    distance_to_ink = distance_transform_edt(~ink)
    assert (distance_to_ink[rows, cols] <= 2).mean() > 0.9

    joints = probe.messages("joint_states")
    assert joints and list(joints[-1].name) == [f"panda_joint{i}" for i in range(1, 8)]
    assert len(joints[-1].position) == 7
