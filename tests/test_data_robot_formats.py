"""Robot datasets as people have them: LeRobot v2.1 / v3.0, robomimic and raw robosuite files, any action
space, channels declared from metadata or refused with the option to set.

Real published files from ../shared/data/robot_formats (skipped when absent), plus the synthetic cases they
do not cover in tests/fixtures/gripper (make_fixtures.py `robot_cases`).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib.image import imread

from trajtok.data import load_source, source_options
from trajtok.data.gripper import read_gripper_demos
from trajtok.data.lerobot import load_lerobot
from trajtok.data.lerobot_export import write_lerobot
from trajtok.data.robomimic import load_robomimic
from trajtok.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "gripper"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "robot_formats"
V30 = SHARED / "lerobot" / "v30_rerun_apple_storage"
V21 = SHARED / "lerobot" / "v21_g1_policy_train"
ROBOSUITE = SHARED / "robomimic" / "robosuite_v1_lift_panda.hdf5"
ISAAC = SHARED / "robomimic" / "isaaclab_indy7_annotated.hdf5"


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data/robot_formats)")
    return path


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


# -- LeRobot v3.0 (reachy2, 19 unnamed joint targets) --------------------------------------------------------
def test_v30_unnamed_actions_refuse_until_events_are_declared():
    root = shared(V30)
    message = refusal(load_lerobot, root)
    assert "meta/info.json" in message and "no names" in message and "--option events=none" in message


@pytest.mark.parametrize("where", ["", "data", "data/chunk-000/file-000.parquet"])
def test_v30_loads_from_root_data_or_one_file_with_its_task(where):
    loaded = load_lerobot(shared(V30) / where, events="none")
    assert len(loaded) == 3 and len(loaded.dim_names) == 19 and loaded.event_names == ()
    assert [len(s) for s in loaded] == [299, 300, 300]  # meta/episodes lengths, checked against the data
    assert all(s.text == "place the apple in the plate" for s in loaded)  # meta/tasks.parquet index
    assert loaded[0].state.shape == (19,) and loaded.mapping["format"] == "LeRobot v3.0"
    assert "absolute targets" in loaded.mapping["dims"]


def test_v30_metadata_parquet_is_refused_as_metadata_not_data():
    episodes = shared(V30) / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    message = refusal(load_lerobot, episodes, events="none")
    assert "file-000.parquet" in message and "metadata" in message and "dataset root" in message


# -- LeRobot v2.1 (Unitree G1, 26 named joints) --------------------------------------------------------------
def test_v21_humanoid_joints_are_named_dims_without_events():
    loaded = load_lerobot(shared(V21))
    assert len(loaded) == 100 and loaded.event_names == ()  # no joint is named like a gripper
    assert loaded.dim_names[:2] == ("kLeftShoulderPitch", "kLeftShoulderRoll") and len(loaded.dim_names) == 26
    assert loaded[0].text == "Pick up the yellow bottle on the table."
    parts = [load_lerobot(V21, split) for split in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 100 and min(len(p) for p in parts) > 0


# -- robomimic / robosuite -----------------------------------------------------------------------------------
def test_raw_robosuite_demo_keeps_its_task_and_gripper_convention():
    loaded = load_robomimic(shared(ROBOSUITE))
    assert len(loaded) == 1 and len(loaded[0]) == 412 and loaded[0].text == "Lift"  # from data.attrs env
    assert loaded.dim_names == ("dx", "dy", "dz", "drx", "dry", "drz") and loaded.event_names == ("gripper",)
    assert "robosuite convention" in loaded.mapping["events"][0]
    assert 0 < loaded[0].events.mean() < 1


def test_gripperless_isaaclab_actions_have_no_event_unless_declared():
    loaded = load_robomimic(shared(ISAAC))
    assert len(loaded) == 8 and loaded.event_names == () and len(loaded.dim_names) == 6
    assert loaded[0].text == "Isaac-Reach-Indy7-IK-Rel-Mimic-v0"
    message = refusal(load_robomimic, ISAAC, events="drz")  # all zeros: not a gripper
    assert "drz" in message and "gripper_threshold" in message


# -- the cases shared/ does not cover ------------------------------------------------------------------------
def test_so101_gripper_position_needs_a_threshold():
    message = refusal(load_lerobot, FIXTURES / "lerobot_so101")
    assert "lerobot_so101/meta/info.json" in message and "'gripper.pos'" in message
    assert "0..40" in message and "--option gripper_threshold=VALUE" in message
    loaded = load_lerobot(FIXTURES / "lerobot_so101", gripper_threshold=20)
    assert len(loaded) == 3 and len(loaded.dim_names) == 5 and loaded.event_names == ("gripper",)
    closed = loaded[0].events[:, 0]
    assert closed.any() and not closed.all() and "gripper_threshold" in loaded.mapping["events"][0]
    as_joint = load_lerobot(FIXTURES / "lerobot_so101", events="none")
    assert as_joint.dim_names[-1] == "gripper.pos" and as_joint.event_names == ()


def test_bimanual_v30_has_two_fitted_grippers_and_counts_the_empty_episode():
    loaded = load_lerobot(FIXTURES / "lerobot_bimanual")
    assert len(loaded) == 2 and loaded.dropped == {"empty_episode": 1}
    assert loaded.event_names == ("left_gripper", "right_gripper") and len(loaded.dim_names) == 14
    assert all("fitted: two-valued 0 / 1" in line for line in loaded.mapping["events"])
    assert loaded[0].text == "hand over the cup"


@pytest.mark.parametrize(
    "name, options, fragments",
    [
        ("lerobot_mismatch", {}, ("file-000.parquet", "episode 0 has 40 frames", "episodes.jsonl says 50")),
        ("lerobot_nan", {"events": "none"}, ("episode 1", "frame 7", "action[2] 'elbow_flex.pos'", "nan")),
        ("lerobot_chunked", {"events": "none"}, ("chunk of 4 actions", "--option unchunk=first")),
        ("lerobot_so101", {"events": "wrist_rol"}, ("events", "no column 'wrist_rol'")),
        ("lerobot_so101", {"action_key": "actions"}, ("missing column(s) actions", "action_key")),
        ("lerobot_so101", {"actions": "relative"}, ("actions='relative'", "absolute, delta")),
        ("lerobot_so101", {"events": "none", "gripper_threshold": 1}, ("no event column", "events=COLUMN")),
    ],
)
def test_bad_lerobot_input_names_file_column_and_option(name, options, fragments):
    message = refusal(load_lerobot, FIXTURES / name, **options)
    for fragment in fragments:
        assert fragment in message, message


def test_chunked_actions_unchunk_to_their_first_action():
    loaded = load_lerobot(FIXTURES / "lerobot_chunked", events="none", unchunk="first")
    plain = load_lerobot(FIXTURES / "lerobot_so101", events="none")
    np.testing.assert_allclose(loaded[0].deltas, plain[0].deltas[: len(loaded[0])], atol=1e-6)


def test_robomimic_mask_filter_keys_are_the_splits():
    train = load_robomimic(FIXTURES / "robomimic_masks.hdf5", "train")
    val = load_robomimic(FIXTURES / "robomimic_masks.hdf5", "val")  # mask/valid
    assert (len(train), len(val)) == (3, 2) and train.mapping["splits"] == "train = mask/train"
    message = refusal(load_robomimic, FIXTURES / "robomimic_masks.hdf5", "test")
    assert "mask/" in message and "no test split" in message and "filter_key" in message
    assert len(load_robomimic(FIXTURES / "robomimic_masks.hdf5", filter_key="valid")) == 2


def test_robosuite_0x_files_are_refused():
    message = refusal(load_robomimic, FIXTURES / "robosuite_0x.hdf5")
    assert "robosuite_0x.hdf5" in message and "robosuite 0.3.0" in message


# -- options everywhere --------------------------------------------------------------------------------------
def test_options_reach_the_loader_through_load_source_and_unused_ones_are_refused():
    loaded = load_source(str(FIXTURES / "lerobot_so101"), split="all", gripper_threshold=20)
    assert loaded.event_names == ("gripper",)
    for options in ({"max_points": 100}, {"threshold": 1}):
        message = refusal(load_source, str(FIXTURES / "lerobot_so101"), split="all", **options)
        assert "unknown option(s)" in message and "gripper_threshold" in message
    assert "gripper_threshold" in source_options(FIXTURES / "robomimic.hdf5")
    assert source_options(FIXTURES / "demos") == ("include_failures",)
    assert "unknown option(s) events" in refusal(load_source, "hershey", events="none")


def test_cli_prints_the_mapping_in_robot_words_and_refuses_bad_input(cli):
    run = cli(
        "data", "stats", FIXTURES / "lerobot_so101", "--split", "all", "--option", "gripper_threshold=20"
    )
    assert run.code == 0, run.err
    assert "episodes      3 in every split (dropped: none)" in run.out
    assert "strokes" not in run.out
    assert "gripper closed where action[5] > 20 (gripper_threshold)" in run.out
    assert "absolute targets, differenced into per-step deltas" in run.out
    cli("data", "stats", FIXTURES / "lerobot_so101", "--split", "all").user_error(
        "lerobot_so101/meta/info.json", "gripper.pos", "gripper_threshold"
    )
    cli(
        "tokenizer", "fit", FIXTURES / "lerobot_nan", "--option", "events=none", "--out", "x.json"
    ).user_error("lerobot_nan", "frame 7", "elbow_flex.pos")


# -- export --------------------------------------------------------------------------------------------------
def test_lerobot_export_reads_back_identically(tmp_path):
    demos = read_gripper_demos(FIXTURES / "demos")
    info = write_lerobot(demos, tmp_path / "export")
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 3
    assert sorted(
        p.relative_to(tmp_path / "export").as_posix() for p in (tmp_path / "export").rglob("*.*")
    ) == [
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
    ]
    for split in ("all", "train", "val", "test"):
        ours = demos.to_sample_set("ours", split)
        theirs = load_source(str(tmp_path / "export"), split=split)
        assert (theirs.dim_names, theirs.event_names) == (ours.dim_names, ours.event_names)
        assert len(theirs) == len(ours)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.deltas, b.deltas)
            np.testing.assert_array_equal(a.events, b.events)
            np.testing.assert_array_equal(a.state, b.state)
            assert a.text == b.text


def test_lerobot_export_opens_with_lerobot_itself(tmp_path):
    lerobot_dataset = pytest.importorskip("lerobot.datasets.lerobot_dataset")
    write_lerobot(read_gripper_demos(FIXTURES / "demos"), tmp_path / "export")
    dataset = lerobot_dataset.LeRobotDataset("local/export", root=tmp_path / "export")
    assert dataset.num_episodes == 3 and dataset[0]["action"].shape == (4,)


def copy_dataset(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def test_v20_and_an_actions_feature_named_in_info_json(tmp_path):
    root = copy_dataset(tmp_path, "lerobot_so101")
    info = json.loads((root / "meta" / "info.json").read_text())
    info["codebase_version"] = "v2.0"
    info["features"] = {"actions": info["features"]["action"]}
    (root / "meta" / "info.json").write_text(json.dumps(info))
    data = root / "data" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(data)
    pq.write_table(
        table.rename_columns(["actions" if c == "action" else c for c in table.column_names]), data
    )
    loaded = load_lerobot(root, gripper_threshold=20)
    assert len(loaded) == 3 and loaded.mapping["format"] == "LeRobot v2.0"
    assert "actions[5] > 20" in loaded.mapping["events"][0]


def test_task_text_from_the_episodes_metadata_when_frames_have_no_task_index(tmp_path):
    root = copy_dataset(tmp_path, "lerobot_bimanual")
    data = root / "data" / "chunk-000" / "file-000.parquet"
    pq.write_table(pq.read_table(data).drop(["task_index"]), data)
    assert [s.text for s in load_lerobot(root)] == ["hand over the cup"] * 2  # meta/episodes tasks


def test_empty_and_unsupported_datasets_are_refused(tmp_path):
    root = copy_dataset(tmp_path, "lerobot_so101")
    (root / "data" / "chunk-000" / "file-000.parquet").unlink()
    assert "no data .parquet files" in refusal(load_lerobot, root)
    shutil.rmtree(root / "data")  # the metadata's own parquet files (v3.0's meta/tasks.parquet) are no frames
    pq.write_table(pa.table({"task_index": [0]}), root / "meta" / "tasks.parquet")
    assert "no data .parquet files" in refusal(load_lerobot, root)
    (root / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v1.6"}))
    assert "LeRobot v1.6 is not read" in refusal(load_lerobot, root)


def test_show_draws_joints_as_per_dim_traces(tmp_path, cli):
    picture = tmp_path / "joints.png"
    run = cli("data", "show", FIXTURES / "lerobot_bimanual", "--split", "all", "--n", "2", "--out", picture)
    assert run.code == 0, run.err
    # one panel per dim and per event (14 joints + 2 grippers: 4 rows of 4), both episodes overlaid in each
    assert imread(picture).shape[:2] == (620, 900)
    run = cli("data", "show", FIXTURES / "lerobot_bimanual", "--split", "all", "--n", "1", "--out", picture)
    assert run.code == 0, run.err
    assert imread(picture).shape[:2] == (620, 900)  # the panels are per channel, not per episode
