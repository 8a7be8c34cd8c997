"""Real-format loaders on small fixtures written in each format (tests/fixtures/handwriting), malformed
files included, plus bigbank when ../shared/data has it.

Two fixture records were drawn with the synthetic corpus and their points (handwriting units) are kept in
expected_points.npz: loaded, they must come back as those points and strokes, at about the same scale (the
x-height is estimated from the text).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trajtok.data import bigbank_path, detect_format, load_source
from trajtok.errors import DataError
from trajtok.strokes import integrate

FIXTURES = Path(__file__).parent / "fixtures" / "handwriting"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


def absolute(sample) -> np.ndarray:
    return integrate(sample.deltas, sample.events[:, 0])


def assert_same_drawing(loaded, name, scale_tolerance=0.2):
    """Same points and pen lifts, up to a scale near 1 and a shift (sources quantize their coordinates)."""
    with np.load(FIXTURES / "expected_points.npz") as expected:
        a, b = absolute(loaded), expected[name]
    assert a.shape == b.shape
    assert (a[:, 2] == b[:, 2]).all()
    a_c, b_c = a[:, :2] - a[:, :2].mean(0), b[:, :2] - b[:, :2].mean(0)
    scale = np.sqrt((a_c**2).sum() / (b_c**2).sum())
    assert abs(scale - 1) < scale_tolerance
    assert np.abs(a_c / scale - b_c).max() < 0.05


def assert_sample_conventions(sample_set):
    for s in sample_set:
        assert s.deltas.dtype == np.float32 and s.deltas.shape[1] == 2
        assert s.events.dtype == bool and s.events.shape == (len(s), 1)
        assert s.events[-1, 0]
        assert np.isfinite(s.deltas).all()


def test_cursive_json_fixture(cursive_bank):
    words = load_source(cursive_bank / "words.json.zip", split="all", use_cache=False)
    assert [s.text for s in words] == ["hello", "Quiz", "42", "daily", "café", "jump!"]
    assert words.dropped == {"empty": 1, "huge_jump": 1}
    assert words.unknown_chars == {"é": 1}
    assert_sample_conventions(words)
    # record 0 is stored with y down and x divided by aspectRatio 6
    assert_same_drawing(words[0], "cursive_hello")


def ct_record(text, author, shift):
    points = [[0.1 + shift, 0.5, 1], [0.2 + shift, 0.2, 1], [0.3 + shift, 0.6, 0], [0.4 + shift, 0.4, 0]]
    return {"metadata": {"asciiSequence": text, "aspectRatio": 2.0, "author": author}, "points": points}


def test_a_folder_of_ct_files_is_one_source_of_several_writers(tmp_path):
    """The studio's dataset folder: one file a writer, each training with its own style id."""
    folder = tmp_path / "studio-data"
    folder.mkdir()
    (folder / "zoe.json").write_text(
        json.dumps([ct_record(w, "zoe", 0.1 * i) for i, w in enumerate(["ab", "cd"])])
    )
    (folder / "amy.json").write_text(json.dumps([ct_record("ef", "amy", 0.0)]))
    (folder / ".zoe.x1.tmp").write_text("torn")  # a save in progress: not a file of the source
    assert detect_format(folder) == "cursive_json"
    loaded = load_source(folder, split="all", use_cache=False)
    assert sorted((s.text, s.style_id) for s in loaded) == [("ab", 1), ("cd", 1), ("ef", 0)]
    train = {s.text for s in load_source(folder, split="train", use_cache=False)}
    assert train
    (folder / "bob.json").write_text(json.dumps([ct_record(w, "bob", 0.0) for w in ("gh", "ij", "kl")]))
    again = {s.text for s in load_source(folder, split="train", use_cache=False)}
    assert again - {"gh", "ij", "kl"} == train  # a writer added leaves the others' split as it was
    (folder / "amy.json").write_text("[{}]")
    with pytest.raises(DataError, match=r"amy.json: record 0: malformed record"):
        load_source(folder, split="all", use_cache=False)
    (folder / "amy.json").unlink()
    np.savez(folder / "page.npz", points=np.zeros((3, 3)))
    with pytest.raises(DataError, match="both stroke-3 .* and cursive-transformer .* files; give one file"):
        load_source(folder, split="all", use_cache=False)


def test_cursive_json_malformed_files_name_the_file_and_record(cursive_bank):
    with pytest.raises(DataError, match=r"bad_record\.json: record 1: malformed record"):
        load_source(FIXTURES / "cursive" / "bad_record.json", split="all", use_cache=False)
    with pytest.raises(DataError, match=r"truncated\.json\.zip: not a readable zip"):
        load_source(cursive_bank / "truncated.json.zip", split="all", use_cache=False)


def test_iam_ondb_fixture():
    lines = load_source(FIXTURES / "iam", split="all", use_cache=False)
    assert [s.text for s in lines] == ["A MOVE to stop", "nominating any", "Dear Sir, it's 7:30"]
    assert lines.dropped == {"no_transcription": 1}  # a01-000u-03.xml has no CSR line 3
    assert_sample_conventions(lines)
    # a01-000u-01.xml holds it at 60 whiteboard units per x-height, y down
    assert_same_drawing(lines[0], "iam_a01_000u_01", scale_tolerance=0.25)


def test_iam_ondb_malformed_xml_names_the_file():
    with pytest.raises(DataError, match=r"c03-001a-01\.xml: not well-formed XML"):
        load_source(FIXTURES / "iam_bad", split="all", use_cache=False)


def test_stroke3_fixture_file_and_directory():
    every = load_source(FIXTURES / "stroke3" / "doodles.npz", split="all", use_cache=False)
    assert len(every) == 6 and every.dropped == {"empty": 1}
    assert all(s.text == "" and s.style_id is None for s in every)
    assert_sample_conventions(every)
    for s in every:  # without text the ink spans about [0, 1]
        y = absolute(s)[:, 1]
        assert -0.6 < y.min() < 0.3 and 0.7 < y.max() < 1.6
    assert len(load_source(FIXTURES / "stroke3" / "doodles.npz", split="train", use_cache=False)) == 4
    assert len(load_source(FIXTURES / "stroke3" / "doodles.npz", split="val", use_cache=False)) == 1
    folder = load_source(FIXTURES / "stroke3", split="train", use_cache=False)
    assert sorted({s.style_id for s in folder}) == [0, 1]  # one style per category file


def test_stroke3_malformed_file_names_the_file_and_record(tmp_path):
    with pytest.raises(DataError, match=r"bad_shape\.npz: train\[0\]: expected an \(N, 3\) array"):
        load_source(FIXTURES / "stroke3_bad" / "bad_shape.npz", split="all", use_cache=False)
    np.savez(tmp_path / "parts.npz", train=np.zeros((1, 3)))
    with pytest.raises(
        DataError, match=r"^\S*parts\.npz: no \['valid', 'test'\] array\(s\); stroke-3 files hold"
    ):
        load_source(tmp_path / "parts.npz", split="all", use_cache=False)  # named once, not twice
    np.savez(tmp_path / "written.npz", points=np.zeros((3, 3)), texts=np.array(["hi"]))
    with pytest.raises(
        DataError, match=r"written\.npz: a `trajtok write` file \(points and texts\), not a dataset"
    ):
        load_source(tmp_path / "written.npz", split="all", use_cache=False)


def test_limits_subsets_and_splits(cursive_bank):
    path = cursive_bank / "words.json.zip"
    strict = load_source(path, split="all", max_jump=0.5, use_cache=False)
    assert strict.dropped["huge_jump"] > 1  # pen-up travel longer than half an x-height now counts as a jump
    parts = [load_source(path, split=s, use_cache=False) for s in ("train", "val", "test")]
    assert sum(len(p) + sum(p.dropped.values()) for p in parts) == 8  # the splits partition the records
    subset = load_source(path, split="all", n=3, seed=4, use_cache=False)
    again = load_source(path, split="all", n=3, seed=4, use_cache=False)
    assert [s.text for s in subset] == [s.text for s in again]
    assert len(subset) + sum(subset.dropped.values()) == 3


def test_unknown_paths_formats_and_options_fail_clearly(tmp_path):
    with pytest.raises(DataError, match="data not found"):
        load_source(tmp_path / "missing.json")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="unknown data format"):
        load_source(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="unknown option"):
        load_source(FIXTURES / "iam", max_chars=3)


def test_a_folder_that_is_no_dataset_is_not_searched_to_its_bottom(tmp_path):
    # a home or /tmp: parquet or XML files deep inside (a venv's package data) are not a dataset
    deep = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "pkg"
    deep.mkdir(parents=True)
    (deep / "data.parquet").write_bytes(b"PAR1")
    (deep / "model.xml").write_text("<mujoco/>")
    (tmp_path / "package.json").write_text('{"name": "pkg"}')  # a .json that holds no records
    (tmp_path / "layout.xml").write_text("<svg/>")  # XML that is no IAM-OnDB line
    with pytest.raises(
        DataError, match=r"no dataset here: no IAM-OnDB lineStrokes/, stroke-3 .* nor trajtok demos; give"
    ):
        load_source(tmp_path)
    # IAM-OnDB's own layout is found from its root or from any folder inside lineStrokes/
    lines = FIXTURES / "iam" / "lineStrokes"
    for where in (FIXTURES / "iam", lines, lines / "a01", lines / "a01" / "a01-000"):
        assert detect_format(where) == "iam_ondb", where


def test_a_folder_of_datasets_names_them(tmp_path):
    """robot_formats/ of ../shared holds datasets a level or two down: the refusal says which to give."""
    shutil.copytree(FIXTURES / "iam", tmp_path / "handwriting" / "iam")
    (tmp_path / "robot").mkdir()
    (tmp_path / "robot" / "lift.hdf5").write_bytes(b"")
    (tmp_path / "robot" / "notes.json").write_text("{}")
    run = tmp_path / "runs" / "r1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("steps: 1\n")
    (run / "tokenizer.json").write_text("{}")  # a run's files are no data
    with pytest.raises(DataError, match=r"it holds datasets: handwriting/iam/, robot/lift.hdf5: give one$"):
        load_source(tmp_path)
    with pytest.raises(DataError, match=r"r1: a training run's folder, not data"):
        load_source(run)


@pytest.mark.skipif(not bigbank_path().is_file(), reason="bigbank_3500.json.zip is not in ../shared/data")
def test_bigbank_loads_whole_and_scaled():
    bigbank = load_source("bigbank", split="all")
    # one tracing ("peye") has a stray dot 30 x-heights right of the word: a glitch, dropped and counted
    assert len(bigbank) == 3499 and bigbank.dropped == {"huge_jump": 1} and bigbank.unknown_chars == {}
    assert_sample_conventions(bigbank)
    tops = [
        np.percentile(absolute(s)[:, 1], 97)
        for s in bigbank
        if s.text.isalpha() and set(s.text) <= set("acemnorsuvwxz")
    ]
    assert len(tops) > 20 and 0.8 < np.median(tops) < 1.3  # x-height letters reach about 1
    train, val = load_source("bigbank", split="train"), load_source("bigbank", split="val")
    assert 3000 < len(train) < 3300 and 100 < len(val) < 250


def iam_copy(tmp_path: Path, lists: dict[str, str]) -> Path:
    """The IAM-OnDB fixture with symlinked ascii/ and lineStrokes/, and the given t1 list files."""
    root = tmp_path / "iam"
    root.mkdir()
    for folder in ("ascii", "lineStrokes"):
        (root / folder).symlink_to((FIXTURES / "iam" / folder).resolve(), target_is_directory=True)
    for name, text in lists.items():
        (root / name).write_text(text)
    return root


def test_iam_ondb_reads_symlinked_folders(tmp_path):
    lines = load_source(iam_copy(tmp_path, {}), split="all", use_cache=False)
    assert len(lines) == len(load_source(FIXTURES / "iam", split="all", use_cache=False)) > 0
    assert "stable hash" in lines.mapping["splits"]


def test_iam_ondb_partial_t1_lists_are_used_as_far_as_they_go(tmp_path):
    root = iam_copy(tmp_path, {"trainset.txt": "a01-000u\n", "testset_f.txt": "b02-010\n"})
    train = load_source(root, split="train", use_cache=False)
    test = load_source(root, split="test", use_cache=False)
    assert {s.text for s in train}.isdisjoint({s.text for s in test}) and len(train) == 2 and len(test) == 1
    assert "train from trainset.txt" in train.mapping["splits"]
    assert "val: no list (testset_v.txt or testset_t.txt)" in train.mapping["splits"]
    with pytest.raises(DataError) as info:
        load_source(root, split="val", use_cache=False)
    message = str(info.value)
    assert "testset_v.txt or testset_t.txt" in message and "found trainset.txt, testset_f.txt" in message
