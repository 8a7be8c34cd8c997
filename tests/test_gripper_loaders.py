"""Gripper demo sources on their fixtures (tests/fixtures/gripper, written by make_fixtures.py)."""

from pathlib import Path

import numpy as np
import pytest

from trajtok.data import load_source
from trajtok.data.gripper import (
    GRIPPER_DIMS,
    GRIPPER_EVENTS,
    gripper_format,
    load_gripper_demos,
    policy_state,
    read_gripper_demos,
    require,
)
from trajtok.data.lerobot import load_lerobot
from trajtok.data.robomimic import load_robomimic
from trajtok.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "gripper"


@pytest.fixture(scope="module")
def demos():
    return load_gripper_demos(FIXTURES / "demos")


def test_demo_file_loads_as_gripper_samples(demos):
    assert len(demos) == 3 and demos.dropped == {}
    assert demos.dim_names == GRIPPER_DIMS and demos.event_names == GRIPPER_EVENTS
    for sample in demos:
        assert sample.deltas.dtype == np.float32 and sample.deltas.shape[1] == 3
        assert sample.events.shape == (len(sample), 1) and sample.events.dtype == bool
        assert "cube" in sample.text or "block" in sample.text
        assert sample.state.shape == (6,)
        # the gripper closes once and opens once: one contiguous closed span
        assert np.count_nonzero(np.diff(sample.events[:, 0].astype(int))) == 2


def test_robomimic_fixture_gives_the_demo_deltas(demos):
    loaded = load_robomimic(FIXTURES / "robomimic.hdf5", dims="dx,dy,dz")
    assert len(loaded) == len(demos) and loaded.dim_names == GRIPPER_DIMS
    assert load_robomimic(FIXTURES / "robomimic.hdf5").dim_names == ("dx", "dy", "dz", "drx", "dry", "drz")
    state_m = read_gripper_demos(FIXTURES / "demos").state  # the fixtures store metres, as robot logs do
    for ours, theirs, metres in zip(demos, loaded, state_m, strict=True):
        np.testing.assert_allclose(theirs.deltas, ours.deltas, atol=1e-7)
        np.testing.assert_array_equal(theirs.events, ours.events)
        assert theirs.text == ours.text
        np.testing.assert_allclose(theirs.state, metres)
        np.testing.assert_allclose(policy_state(theirs.state), ours.state, atol=1e-6)


def test_robomimic_absolute_reading_starts_from_the_eef_pose(demos):
    # The same file read as absolute positions: deltas are differences of the delta values, from eef_pos[0].
    loaded = load_robomimic(FIXTURES / "robomimic.hdf5", actions="absolute", dims="0:3", state_keys=())
    first = demos[0].deltas.astype(np.float64)
    expected = np.diff(np.vstack([[0.45, 0.0, 0.30], first]), axis=0)
    np.testing.assert_allclose(loaded[0].deltas, expected, atol=1e-6)
    assert loaded[0].state is None


def test_lerobot_fixture_converts_absolute_targets_to_deltas(demos):
    loaded = load_lerobot(FIXTURES / "lerobot")
    assert len(loaded) == len(demos) and loaded.dim_names == ("x", "y", "z")  # named in meta/info.json
    state_m = read_gripper_demos(FIXTURES / "demos").state
    for ours, theirs, metres in zip(demos, loaded, state_m, strict=True):
        np.testing.assert_allclose(theirs.deltas[0], 0.0)
        np.testing.assert_allclose(theirs.deltas[1:], ours.deltas[1:], atol=1e-6)
        np.testing.assert_array_equal(theirs.events, ours.events)
        assert theirs.text == ours.text  # from meta/tasks.jsonl via task_index
        np.testing.assert_allclose(theirs.state[3:], metres, atol=1e-6)  # [eef xyz, cube xyz, tray xyz]
    single = load_lerobot(FIXTURES / "lerobot" / "data" / "chunk-000" / "episode_000001.parquet")
    np.testing.assert_allclose(single[0].deltas, loaded[1].deltas)


@pytest.mark.parametrize(
    "loader, name, record",
    [
        (load_gripper_demos, "demos_malformed.npz", "episode_ends"),
        (load_robomimic, "robomimic_malformed.hdf5", "data/demo_1/actions"),
        (load_lerobot, "lerobot_malformed.parquet", "episode 0: action"),
        (load_robomimic, "make_fixtures.py", "not a readable HDF5"),
        (load_lerobot, "make_fixtures.py", "not a readable parquet"),
    ],
)
def test_malformed_files_name_file_and_record(loader, name, record):
    with pytest.raises(DataError) as info:
        loader(FIXTURES / name)
    message = str(info.value)
    assert name in message and record in message and "\n" not in message


def test_failed_expert_episodes_are_counted_not_loaded(tmp_path):
    with np.load(FIXTURES / "demos" / "gripper_demos.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["success"] = np.array([True, False, True])
    np.savez_compressed(tmp_path / "gripper_demos.npz", **arrays)
    loaded = load_gripper_demos(tmp_path)
    assert len(loaded) == 2 and loaded.dropped == {"expert_failed": 1}
    assert len(load_gripper_demos(tmp_path, include_failures=True)) == 3
    assert len(read_gripper_demos(tmp_path)) == 3


def test_bad_action_mode_is_a_clear_error():
    with pytest.raises(DataError, match="actions="):
        load_robomimic(FIXTURES / "robomimic.hdf5", actions="relative")


def test_missing_extra_names_the_pip_extra():
    with pytest.raises(ImportError, match=r"pip install 'trajtok\[gripper\]'"):
        require("trajtok_no_such_module", "gripper", "reading robomimic HDF5")


@pytest.mark.parametrize(
    "loader, name",
    [(load_gripper_demos, "demos"), (load_robomimic, "robomimic.hdf5"), (load_lerobot, "lerobot")],
)
def test_splits_partition_the_episodes(loader, name):
    everything = loader(FIXTURES / name, "all")
    parts = [loader(FIXTURES / name, split) for split in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == len(everything)
    firsts = sorted(float(s.deltas[:5].sum()) for p in parts for s in p)
    assert firsts == sorted(float(s.deltas[:5].sum()) for s in everything)
    assert len(loader(FIXTURES / name, "all", n=2, seed=1)) == 2


@pytest.mark.parametrize(
    "name, expected",
    [
        ("demos", "gripper_demos"),
        ("demos/gripper_demos.npz", "gripper_demos"),
        ("demos_malformed.npz", "gripper_demos"),
        ("robomimic.hdf5", "robomimic"),
        ("lerobot", "lerobot"),
        ("lerobot_malformed.parquet", "lerobot"),
        ("make_fixtures.py", None),
    ],
)
def test_gripper_formats_are_recognized(name, expected):
    assert gripper_format(FIXTURES / name) == expected


def test_a_folder_of_parquet_files_deeper_than_lerobot_keeps_them_is_no_dataset(tmp_path):
    chunk = tmp_path / "data" / "chunk-000"
    chunk.mkdir(parents=True)
    (chunk / "file-000.parquet").write_bytes(b"PAR1")
    for where in (tmp_path, tmp_path / "data", chunk):
        assert gripper_format(where) == "lerobot", where
    assert gripper_format(tmp_path.parent) is None  # three levels up from the file: not searched there
    deep = tmp_path / "elsewhere" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "file-000.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match="elsewhere: not a LeRobot dataset: no meta/info.json"):
        load_lerobot(tmp_path / "elsewhere")


def test_a_cut_off_demo_file_is_named_not_a_traceback(tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes((FIXTURES / "demos" / "gripper_demos.npz").read_bytes()[:300])
    assert gripper_format(cut) is None  # not recognized as demos: the other loaders get to say why
    with pytest.raises(DataError, match="cut.npz: not a readable .npz demo file"):
        load_gripper_demos(cut)


@pytest.mark.parametrize("name", ["demos", "robomimic.hdf5", "lerobot", "demos/gripper_demos.npz"])
def test_load_source_reads_gripper_demos(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path))
    loaded = load_source(str(FIXTURES / name), split="all")
    assert len(loaded) == 3 and loaded.dim_names[:3] in (GRIPPER_DIMS, ("x", "y", "z"))
    assert loaded.event_names == GRIPPER_EVENTS and loaded.mapping["events"][0].startswith("gripper closed")
    assert all(s.state is not None for s in loaded)
