"""The pick-and-place scene with real PyBullet physics: expert demos, token replays, and failures."""

from pathlib import Path

import numpy as np
import pytest

from trajtok.data.gripper import load_gripper_demos, policy_state, read_gripper_demos
from trajtok.tokenizer import TrajectoryTokenizer

pytest.importorskip("pybullet")
from trajtok_sim.demos import generate_pickplace, make_gripper_dataset, scene_of  # noqa: E402
from trajtok_sim.expert import expert_plan  # noqa: E402
from trajtok_sim.pick_place import PickPlaceSim, sample_scene  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "gripper"


@pytest.fixture(scope="module")
def sim():
    with PickPlaceSim() as world:
        yield world


def test_expert_puts_the_cube_in_the_tray(sim):
    rng = np.random.default_rng(11)
    for _ in range(4):
        scene = sample_scene(rng)
        result = sim.run(scene, *expert_plan(scene))
        assert result.success, scene
        assert result.grasped_steps > 10  # carried between the fingers, not pushed
        assert np.linalg.norm(result.cube_xyz_m[:2] - scene.tray_xy_m) < 0.08


def test_an_open_gripper_or_a_missed_grasp_fails(sim):
    scene = sample_scene(np.random.default_rng(12))
    deltas, closed = expert_plan(scene)
    never_closed = sim.run(scene, deltas, np.zeros_like(closed))
    assert not never_closed.success and never_closed.grasped_steps == 0
    shifted = deltas.copy()
    shifted[0, :2] += 0.06  # the whole plan 6 cm off: the fingers come down beside the cube
    assert not sim.run(scene, shifted, closed).success


def test_replaying_a_demo_from_its_tokens_succeeds(sim):
    demos = read_gripper_demos(FIXTURES / "demos")
    samples = load_gripper_demos(FIXTURES / "demos")
    tokenizer = TrajectoryTokenizer(samples.dim_names, samples.event_names).fit(samples.deltas())
    for i in range(len(demos)):
        tokens = tokenizer.encode(demos.deltas[i], demos.gripper[i][:, None], add_eos=True)
        deltas, events = tokenizer.decode(tokens)
        assert not np.array_equal(deltas, demos.deltas[i])  # really quantized
        assert sim.run(scene_of(demos, i), deltas, events[:, 0]).success


def test_made_dataset_records_what_the_expert_did(tmp_path):
    made = make_gripper_dataset(2, seed=3, out_dir=tmp_path)
    assert len(made) == 2 and made.success_rate == 1.0
    demos = read_gripper_demos(tmp_path / "gripper_demos.npz")
    np.testing.assert_array_equal(np.concatenate(demos.deltas), np.concatenate(made.deltas))
    rng = np.random.default_rng(3)
    first_scene = sample_scene(rng)
    np.testing.assert_allclose(demos.state[0], first_scene.state())
    np.testing.assert_allclose(demos.deltas[0], expert_plan(first_scene)[0], atol=1e-7)
    assert demos.color[0] in demos.instruction[0]


def test_policy_state_puts_every_scene_in_the_unit_box():
    rng = np.random.default_rng(0)
    states = policy_state(np.stack([sample_scene(rng).state() for _ in range(500)]))
    assert np.abs(states).max() <= 1.0
    assert np.abs(states[:, [0, 1, 3, 4]]).max(axis=0).min() > 0.9  # the ranges are used, not squashed


def test_generated_source_splits_draw_different_scenes():
    train = generate_pickplace("train", n=2, seed=5)
    val = generate_pickplace("val", n=2, seed=5)
    assert train.source == "pickplace" and len(train) == 2 and train.dim_names == ("dx", "dy", "dz")
    assert (
        not np.isclose(np.stack([s.state for s in train]), np.stack([s.state for s in val])).all(axis=1).any()
    )
    np.testing.assert_array_equal(generate_pickplace("train", n=2, seed=5)[1].state, train[1].state)
    with pytest.raises(ValueError, match="split"):
        generate_pickplace("all", n=2)
