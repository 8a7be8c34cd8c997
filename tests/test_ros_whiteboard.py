"""writer -> whiteboard_sim end to end over DDS: the simulated arm inks the board where the plan says.

Both nodes run as their own processes from the colcon-built workspace; the writer uses a tiny model overfit
on one sample of "hi". The sim follows either the PoseStamped stream or the whole Path.
"""

import pytest
import ros_support
from std_msgs.msg import String

from trajtok.board import BoardConfig

START_S = 90
DONE_S = 120


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
        probe.spin_until(lambda: ros_support.final_image_arrived(probe), DONE_S, "sim", sim)
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

    ros_support.assert_ink_follows_the_plan(ink, path, board)

    joints = probe.messages("joint_states")
    assert joints and list(joints[-1].name) == [f"panda_joint{i}" for i in range(1, 8)]
    assert len(joints[-1].position) == 7
