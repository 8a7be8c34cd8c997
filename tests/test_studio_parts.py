"""trajtok studio's parts on their own: the dataset file (atomic saves, names), drawings as CT records, the
stream's smoothing, the style prime."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from studio_support import pad_drawing, word_strokes

from trajtok.data import load_source
from trajtok.data.hershey import synthesize
from trajtok.generate import Writer
from trajtok.strokes import integrate, smooth_stroke, split_strokes
from trajtok.studio.dataset import Dataset
from trajtok.studio.drawing import Drawing
from trajtok.studio.requests import BadRequest
from trajtok.studio.session import InkSmoother
from trajtok.studio.style import MINE, corpus_styles, style_prime


def record(word: str) -> dict:
    return Drawing.parse(pad_drawing(word_strokes(word))).record(word)


def test_a_save_that_fails_midway_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    data = Dataset(tmp_path)
    data.add("ann", record("river"))
    before = (tmp_path / "ann.json").read_bytes()

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        data.add("ann", record("quiet"))
    monkeypatch.undo()
    assert (tmp_path / "ann.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ann.json"]  # the temporary file is gone too
    data.add("ann", record("stones"))
    assert [s.text for s in load_source(str(tmp_path / "ann.json"), split="all")] == ["river", "stones"]


def test_a_file_that_is_not_ct_json_is_never_overwritten(tmp_path):
    (tmp_path / "bob.json").write_text('{"not": "a list"}')
    with pytest.raises(BadRequest, match="bob.json.*nothing was changed") as refused:
        Dataset(tmp_path).add("bob", record("river"))
    assert refused.value.status == 409
    assert (tmp_path / "bob.json").read_text() == '{"not": "a list"}'


@pytest.mark.parametrize("name", ["", "..", "../x", "a/b", ".hidden", "x" * 41, "a b", "é", "a\x00b", "-x"])
def test_writer_names_that_could_leave_the_folder_are_refused(tmp_path, name):
    with pytest.raises(BadRequest, match="writer name"):
        Dataset(tmp_path).path(name)


def test_a_record_keeps_times_and_pressure_and_reads_back_as_drawn(tmp_path):
    drawing = pad_drawing(word_strokes("minimum"))
    drawing["strokes"][0][3][3] = 0.9  # a pen's pressure
    saved = Dataset(tmp_path).add("cat", Drawing.parse(drawing).record("minimum"))
    on_disk = json.loads((tmp_path / "cat.json").read_text())[0]
    assert on_disk["id"] == saved["id"] and on_disk["metadata"]["author"] == "cat"
    n = sum(len(s) for s in drawing["strokes"])
    assert len(on_disk["points"]) == len(on_disk["t_ms"]) == len(on_disk["pressure"]) == n
    assert on_disk["pressure"][3] == 0.9 and on_disk["t_ms"][:2] == [0.0, 8.0]
    lifts = np.cumsum([len(s) for s in drawing["strokes"]]) - 1
    assert [i for i, p in enumerate(on_disk["points"]) if p[2] == 0] == lifts.tolist()
    (sample,) = load_source(str(tmp_path / "cat.json"), split="all").samples
    assert sample.text == "minimum" and int(sample.events[:, 0].sum()) == len(drawing["strokes"])


def test_the_stream_smoother_draws_smooth_strokes_curve_in_any_batching():
    sample = synthesize("hello world", 2, 1)
    points = integrate(sample.deltas, sample.events[:, 0]).astype(np.float64)
    expected = [smooth_stroke(s) for s in split_strokes(points)]
    for batch in (1, 2, 3, 7, 50, len(points)):
        smoother, strokes = InkSmoother(), {}
        for start in range(0, len(points), batch):
            chunk = points[start : start + batch]
            for update in smoother.add(chunk[:, :2], chunk[:, 2] > 0):
                stroke = strokes.setdefault(update.stroke, {"final": [], "tail": []})
                stroke["final"] += update.as_json()["final"]
                stroke["tail"] = update.as_json()["tail"]
        got = [np.array(strokes[k]["final"] + strokes[k]["tail"]) for k in sorted(strokes)]
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected, strict=True):
            assert mine.shape == theirs.shape and np.abs(mine - theirs).max() < 1e-3


def test_style_prime_lays_out_the_newest_fitting_samples():
    writer = Writer.from_checkpoint()
    assert writer.line_chars == 20  # the length the shipped model's training texts reach (max_chars 24)
    assert style_prime(writer, "hello", "", []) is None
    assert style_prime(writer, "hello", corpus_styles()[1], []).style_id == 1
    mine = [synthesize(word, 3, 0) for word in ("river", "x" * 30, "stones")]
    assert style_prime(writer, "hello", MINE, mine).text == "river stones"  # the too-long one left out
    assert style_prime(writer, "a" * 12, MINE, mine).text == "stones"  # "river stones" no longer fits
    with pytest.raises(BadRequest, match="save a few"):
        style_prime(writer, "hello", MINE, [])
    with pytest.raises(BadRequest, match="fits beside this phrase"):
        style_prime(writer, "a" * 20, MINE, mine)


@pytest.mark.slow
def test_trajtok_train_takes_a_saved_dataset_as_it_is(tmp_path, cli):
    data = Dataset(tmp_path / "data")
    words = (
        "river",
        "quiet",
        "stones",
        "hello",
        "world",
        "minimum",
        "north",
        "sound",
        "lamp",
        "paper",
        "green",
    )
    for i, word in enumerate(words):
        data.add("me", Drawing.parse(pad_drawing(word_strokes(word, style=i % 6))).record(word))
    tiny = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
    source = f"data.source={tmp_path / 'data' / 'me.json'}"
    run = cli(
        "train",
        "handwriting",
        "--config",
        tiny,
        "--run-dir",
        tmp_path / "run",
        source,
        "steps=2",
        "sample_every=0",
    )
    assert run.code == 0, run.err
    assert "trained 2 steps" in run.out and "10 training samples" in run.out, run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--port", "70000"], "--port must be 1..65535"), (["--checkpoint", "missing.pt"], "missing.pt")],
)
def test_studio_user_errors_exit_2_with_one_line(cli, tmp_path, args, message):
    cli("studio", "--data", tmp_path / "data", *args).user_error(message)


def test_a_port_another_program_holds_is_one_line_and_the_studio_does_not_start(cli, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = cli("studio", "--data", tmp_path / "data", "--port", port)
        run.user_error(f"cannot listen on 127.0.0.1:{port}", "give --port N")
        assert "http://" not in run.out  # no address printed for a page that is not served
    cli("studio", "--host", "no-such-host.invalid").user_error("cannot listen on no-such-host.invalid:8765")


def test_a_phrase_of_two_lines_goes_to_the_robot_as_one_line_for_the_board_to_wrap():
    from trajtok.board import BoardConfig
    from trajtok.page_lines import LINE_SPACING, stack_lines
    from trajtok.sample import Sample
    from trajtok.strokes import differentiate
    from trajtok.studio.results import WrittenPhrase
    from trajtok.waypoints import plan_waypoints

    lines = ["robots can write", "on boards"]
    own = [synthesize(line, style_id=0, seed=0) for line in lines]
    deltas, lifts = differentiate(stack_lines([integrate(s.deltas, s.events[:, 0]) for s in own]))
    page = Sample(deltas, lifts[:, None], text=" ".join(lines))
    phrase = WrittenPhrase(page, None, lines=lines, line_steps=[len(s) for s in own])
    with pytest.raises(ValueError, match="outside the writable board area"):  # the page, stacked
        plan_waypoints(phrase.points, BoardConfig())
    points = phrase.board_points()
    assert len(points) == len(page) and np.ptp(points[:, 1]) < LINE_SPACING and points[-1, 2] == 1.0
    assert len(plan_waypoints(points, BoardConfig())) > 0
