"""`trajtok recognize`: every input format, read by the shipped recognizer, and every bad input refused with
one line (file, record, what to do), non-zero exit, no traceback; --skip-bad reads the rest."""

import json
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from trajtok.cli import main
from trajtok.data.hershey import synthesize
from trajtok.strokes import integrate, split_strokes
from trajtok.text_metrics import cer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = ["river", "stone", "bright"]


def synthetic_strokes(text: str, style: int = 0) -> list[np.ndarray]:
    sample = synthesize(text, style, seed=3)
    return split_strokes(integrate(sample.deltas, sample.events[:, 0]))


def ct_record(text, strokes, author="me"):
    """Cursive-transformer JSON: page units in [0, 1], y down, is_pen_down = 0 on each stroke's last point."""
    points = []
    for stroke in strokes:
        for j, (x, y) in enumerate(stroke):
            points.append([float(0.02 * x + 0.1), float(0.5 - 0.02 * y), 0 if j == len(stroke) - 1 else 1])
    return {"metadata": {"asciiSequence": text, "aspectRatio": 1.0, "author": author}, "points": points}


def iam_xml(strokes) -> str:
    body = "".join(
        "<Stroke>"
        + "".join(f'<Point x="{100 * x:.2f}" y="{-100 * y:.2f}" time="0"/>' for x, y in s)
        + "</Stroke>"
        for s in strokes
    )
    return f"<WhiteboardCaptureSession><StrokeSet>{body}</StrokeSet></WhiteboardCaptureSession>"


def stroke3(strokes) -> np.ndarray:
    points = np.concatenate([np.column_stack([s, np.zeros(len(s))]) for s in strokes])
    ends = np.cumsum([len(s) for s in strokes]) - 1
    points[ends, 2] = 1
    deltas = np.diff(points[:, :2], axis=0, prepend=np.zeros((1, 2)))
    return np.column_stack([deltas[:, 0], -deltas[:, 1], points[:, 2]]).astype(np.float32)


def save_stroke3(path, drawings):
    ragged = np.empty(len(drawings), dtype=object)
    ragged[:] = drawings
    empty = np.empty(0, dtype=object)
    np.savez(path, train=ragged, valid=empty, test=empty)


def recognize(capsys, *args):
    code = main(["recognize", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def fails(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(["recognize", *map(str, args)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_reads_what_trajtok_write_saved(tmp_path, capsys):
    phrases = ["hello world", "quiet river stones"]
    assert main(["write", *phrases, "--temperature", "0", "--out", str(tmp_path / "w.png"), "--check"]) == 0
    checked = [line for line in capsys.readouterr().out.splitlines() if "the recognizer reads" in line]
    assert len(checked) == 2 and checked[0].startswith("'hello world'")
    code, out, _ = recognize(capsys, tmp_path / "w.npz", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["written"] for r in rows] == phrases
    assert cer([r["text"] for r in rows], phrases) <= 0.1
    assert all(0 <= r["confidence"] <= 1 for r in rows)


def test_reads_cursive_json_iam_xml_and_stroke3(tmp_path, capsys):
    records = [ct_record(w, synthetic_strokes(w)) for w in WORDS]
    (tmp_path / "words.json").write_text(json.dumps(records))
    with zipfile.ZipFile(tmp_path / "words.json.zip", "w") as archive:
        archive.writestr("words.json", json.dumps(records))
    (tmp_path / "line.xml").write_text(iam_xml(synthetic_strokes("stone")))
    save_stroke3(tmp_path / "sketch.npz", [stroke3(synthetic_strokes("bright"))])

    code, out, err = recognize(capsys, tmp_path / "words.json", tmp_path / "words.json.zip", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["written"] for r in rows] == WORDS * 2
    assert "reading:" in err and f"/{len(rows)} " in err  # the progress bar, on stderr
    assert [r["text"] for r in rows] == WORDS * 2

    code, out, _ = recognize(capsys, tmp_path / "line.xml", tmp_path / "sketch.npz")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'line.xml'}  ") and lines[0].endswith("  stone")
    assert lines[1].startswith(f"{tmp_path / 'sketch.npz'}: train[0]  ") and lines[1].endswith("  bright")


def test_beam_reads_the_same_clear_words(tmp_path, capsys):
    (tmp_path / "words.json").write_text(json.dumps([ct_record(w, synthetic_strokes(w, 2)) for w in WORDS]))
    _, greedy, _ = recognize(capsys, tmp_path / "words.json")
    _, beam, _ = recognize(capsys, tmp_path / "words.json", "--beam", "8")
    assert [line.split()[-1] for line in beam.splitlines()] == [
        line.split()[-1] for line in greedy.splitlines()
    ]


@pytest.fixture
def bad_batch(tmp_path):
    """A JSON file: a good word, an empty record, a single point, NaN, then another good word."""
    good = ct_record("river", synthetic_strokes("river"))
    empty = {"metadata": {"asciiSequence": "x", "author": "me"}, "points": []}
    single = {"metadata": {"asciiSequence": "x", "author": "me"}, "points": [[0.3, 0.3, 0]]}
    nan = ct_record("stone", synthetic_strokes("stone"))
    nan["points"][4][0] = float("nan")
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([good, empty, single, nan, ct_record("bright", synthetic_strokes("bright"))]))
    return path


def test_a_bad_sample_stops_the_run_naming_it(bad_batch, capsys):
    err = fails(capsys, bad_batch)
    assert f"{bad_batch}: record 1: no points" in err and "--skip-bad" in err


def test_skip_bad_names_each_bad_sample_and_reads_the_others(bad_batch, capsys):
    code, out, err = recognize(capsys, bad_batch, "--skip-bad")
    assert code == 1
    assert [line.split()[-1] for line in out.splitlines()] == ["river", "bright"]
    assert "record 1: no points" in err and "record 2: a single point" in err and "record 3: NaN/inf" in err


def test_huge_sample_unknown_format_and_missing_file_are_one_line_errors(tmp_path, capsys):
    save_stroke3(tmp_path / "huge.npz", [np.tile(np.float32([[0.01, 0.0, 0.0]]), (100_000, 1))])
    assert "100000 points" in fails(capsys, tmp_path / "huge.npz")
    (tmp_path / "notes.txt").write_text("hello")
    assert "unknown format" in fails(capsys, tmp_path / "notes.txt")
    assert "no such file" in fails(capsys, tmp_path / "absent.json")
    assert f"{tmp_path}: a folder; give the files in it" in fails(capsys, tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    assert "not valid cursive-transformer JSON" in fails(capsys, tmp_path / "broken.json")
    (tmp_path / "text.npz").write_text("not an archive")
    assert "text.npz: not a .npz archive" in fails(capsys, tmp_path / "text.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "huge.npz").read_bytes()[:300])
    assert "cut.npz: not a" in fails(capsys, tmp_path / "cut.npz")


class _OpensAFile:
    """Unpickled, it creates the file `path`: what a hostile pickle could do instead."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def test_a_bare_pickle_named_npz_is_refused_unread(tmp_path, capsys):
    marker = tmp_path / "unpickled"
    (tmp_path / "evil.npz").write_bytes(pickle.dumps(_OpensAFile(marker)))
    assert "evil.npz: not a .npz archive" in fails(capsys, tmp_path / "evil.npz")
    assert not marker.exists()


def test_wrong_checkpoint_kinds_are_refused_both_ways(tmp_path, capsys, overfit_checkpoint):
    (tmp_path / "w.json").write_text(json.dumps([ct_record("river", synthetic_strokes("river"))]))
    assert "a handwriting model" in fails(capsys, tmp_path / "w.json", "--checkpoint", overfit_checkpoint)
    from trajtok.recognizer_checkpoint import SHIPPED

    with pytest.raises(SystemExit) as exit_info:
        main(["write", "hi", "--checkpoint", str(SHIPPED), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "a recognizer checkpoint" in err and "Traceback" not in err


def test_the_installed_command_runs(tmp_path):
    save_stroke3(tmp_path / "s.npz", [stroke3(synthetic_strokes("stone"))])
    done = subprocess.run(
        [sys.executable, "-m", "trajtok", "recognize", str(tmp_path / "s.npz")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.split()[-1] == "stone"
