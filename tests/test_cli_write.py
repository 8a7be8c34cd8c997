"""`trajtok write`: real files out (PNG, SVG, NPZ, heatmap) from a tiny saved model; clean errors."""

import io
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest
import torch
from word_bank_model import as_word_bank_model

from trajtok.checkpoint import load_checkpoint, save_checkpoint
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory holding checkpoints/latest.pt of a small random model that never ends a phrase."""
    rng = np.random.default_rng(0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=12).fit(
        [0.1 * rng.normal(size=(300, 2))]
    )
    text_tokenizer = CharTokenizer()
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=1, d_ff=64, max_steps=600, max_text=48
    )
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    with torch.no_grad():  # never choose the end step, so every phrase runs to its step budget
        model.heads[0].proj.bias[-1] = -50.0
    path = tmp_path_factory.mktemp("run")
    save_checkpoint(
        path / "checkpoints" / "latest.pt",
        model,
        tokenizer,
        text_tokenizer,
        config,
        {"max_steps_per_char": 4},
    )
    return path


def test_write_makes_page_svg_strokes_and_heatmap(run_dir, tmp_path, cli):
    out = tmp_path / "page.png"
    argv = ["write", "hi", "there", "--checkpoint", str(run_dir), "--out", str(out), "--svg"]
    result = cli(*argv, "--attention", str(tmp_path / "att.png"), "--seed", "0", "--top-k", "5")
    assert result.code == 0, result.err
    printed = result.out
    assert "'hi': 8 steps" in printed and "'there': 20 steps" in printed  # cut at 4 steps per character

    image = matplotlib.image.imread(out)  # (H, W, 4) white page with black ink, nothing else
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    ink = image[..., :3].mean(-1) < 0.5
    assert 0 < ink.mean() < 0.5

    svg = ET.parse(out.with_suffix(".svg")).getroot()
    assert svg.tag.endswith("svg") and any(el.tag.endswith("path") for el in svg.iter())

    with np.load(out.with_suffix(".npz")) as strokes:
        assert list(strokes["texts"]) == ["hi", "there"]
        assert strokes["points_0"].shape == (8, 3) and strokes["points_1"].shape == (20, 3)
        assert strokes["points"].shape == (28, 3)
        assert strokes["points"][7, 2] == 1 and strokes["points"][-1, 2] == 1  # each line ends lifted
        np.testing.assert_allclose(strokes["points"][:8, :2], strokes["points_0"][:, :2])

    heatmap = matplotlib.image.imread(tmp_path / "att.png")
    assert heatmap.shape[0] > 100


def test_phrases_from_a_file_or_standard_input_follow_the_ones_given(run_dir, tmp_path, cli, monkeypatch):
    phrases = tmp_path / "letter.txt"
    phrases.write_text("dear sam\n\n   \n  see you soon  \n")
    out = tmp_path / "page.png"
    result = cli("write", "hi", "--from", phrases, "--checkpoint", run_dir, "--out", out, "--seed", "0")
    assert result.code == 0, result.err
    with np.load(out.with_suffix(".npz")) as strokes:
        assert list(strokes["texts"]) == ["hi", "dear sam", "see you soon"]  # blank lines skipped, trimmed
    monkeypatch.setattr(sys, "stdin", io.StringIO("from a pipe\n"))
    result = cli("write", "--from", "-", "--checkpoint", run_dir, "--out", out, "--seed", "0")
    assert result.code == 0, result.err
    with np.load(out.with_suffix(".npz")) as strokes:
        assert list(strokes["texts"]) == ["from a pipe"]


def test_nothing_to_write_and_bad_phrase_files_are_one_line(run_dir, tmp_path, cli):
    cli("write", "--checkpoint", run_dir).user_error("nothing to write: give a phrase (TEXT) or a file")
    (tmp_path / "blank.txt").write_text("\n  \n")
    cli("write", "--from", tmp_path / "blank.txt").user_error("blank.txt: no phrase in it")
    (tmp_path / "strokes.npz").write_bytes(b"PK\x03\x04\xf5\xff")
    cli("write", "--from", tmp_path / "strokes.npz").user_error("strokes.npz: not UTF-8 text")
    cli("write", "--from", tmp_path / "absent.txt").user_error("absent.txt: no such file")
    cli("write", "--from", tmp_path).user_error("a folder; give a text file")


def test_the_default_temperature_is_the_one_front_ends_share(tmp_path, cli):
    """Unless told, `trajtok write` samples at trajtok.sampling.DEFAULT_TEMPERATURE (the studio's and the
    ROS node's too), chosen on measured legibility. The shipped model: a random one's logits are too flat
    for the temperature to change its draws."""
    written = {}
    for name, flags in (("default", []), ("shared", ["--temperature", str(DEFAULT_TEMPERATURE)])):
        out = tmp_path / f"{name}.png"
        result = cli("write", "hi", "--seed", "3", "--out", str(out), *flags)
        assert result.code == 0, result.err
        with np.load(out.with_suffix(".npz")) as strokes:
            written[name] = strokes["points"]
    np.testing.assert_array_equal(written["default"], written["shared"])
    assert DEFAULT_TEMPERATURE == 0.5


def test_svg_only_and_priming(run_dir, tmp_path, cli):
    out = tmp_path / "page.svg"
    argv = ["write", "ok", "--checkpoint", str(run_dir / "checkpoints" / "latest.pt"), "--out", str(out)]
    assert cli(*argv, "--prime-source", "hershey", "--prime-index", "1", "--temperature", "0").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.npz", "page.svg"]
    with np.load(tmp_path / "page.npz") as strokes:
        assert strokes["points"].shape == (8, 3)
    cli(*argv, "--prime-source", "hershey", "--prime-index", "-1").user_error("--prime-index must be >= 0")
    cli(*argv[:-1], str(tmp_path / "page.text")).user_error("page.text' is not a picture file name")
    argv[1] = "ok \u2603"
    cli(*argv).user_error("phrase: text 'ok \u2603'", "outside this model's alphabet ('\u2603')")
    for blank in ("", "   "):  # the model would write its scribble for a blank text, and exit 0
        argv[1] = blank
        cli(*argv).user_error(f"phrase {blank!r} is empty: give the text to write")


def test_a_phrase_longer_than_the_training_lines_is_written_on_several(run_dir, tmp_path, cli):
    trained = load_checkpoint(run_dir)  # the same model, its facts saying it learned lines of <= 10 chars
    facts = {"max_steps_per_char": 4, "train_config": {"data": {"source": "hershey", "max_chars": 10}}}
    short_lines = tmp_path / "short_lines.pt"
    save_checkpoint(
        short_lines, trained.model, trained.tokenizer, trained.text_tokenizer, trained.model_config, facts
    )
    out = tmp_path / "page.png"
    result = cli("write", "aaa bbb ccc dddd", "hi", "--checkpoint", short_lines, "--out", out, "--seed", "0")
    assert result.code == 0, result.err
    assert "'aaa bbb ccc dddd': 16 characters, written as 2 lines of at most 10" in result.out
    assert "'aaa bbb': 28 steps" in result.out and "'ccc dddd': 32 steps" in result.out
    with np.load(out.with_suffix(".npz")) as strokes:
        assert list(strokes["texts"]) == ["aaa bbb", "ccc dddd", "hi"]
        assert [len(strokes[f"points_{i}"]) for i in range(3)] == [28, 32, 8]
        lines = np.split(strokes["points"], [28, 60])
        assert lines[1][:, 1].mean() < lines[0][:, 1].mean() - 1  # the second line below the first


def test_missing_checkpoint_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trajtok", "write", "hi", "--checkpoint", str(tmp_path / "nope.pt")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("trajtok: error: ") and "nope.pt: checkpoint not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_drafts_writes_each_line_as_the_best_read_of_n(run_dir, tmp_path, cli):
    out = tmp_path / "page.png"
    result = cli("write", "hi", "--checkpoint", run_dir, "--out", out, "--drafts", "2", "--seed", "0")
    assert result.code == 0, result.err
    assert "drafts: 2 per line, chosen by the shipped recognizer" in result.out
    assert out.is_file() and out.with_suffix(".npz").is_file()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--drafts", "0"], "--drafts must be >= 1, got 0"),
        (["--draft-reader", "runs/x"], "--draft-reader chooses among drafts: give --drafts N"),
    ],
)
def test_bad_draft_options_are_refused_in_one_line_before_writing(run_dir, tmp_path, cli, flags, message):
    out = tmp_path / "page.png"
    result = cli("write", "hi", "--checkpoint", run_dir, "--out", out, *flags)
    assert result.code == 2
    assert message in result.err and result.err.strip().count("\n") == 0
    assert not out.exists()


def test_layout_words_writes_each_word_apart_and_says_which_were_cut(run_dir, tmp_path, cli):
    out = tmp_path / "page.png"
    result = cli("write", "hi yo", "--checkpoint", run_dir, "--out", out, "--layout", "words", "--seed", "0")
    assert result.code == 0, result.err
    # the model never ends a phrase: each word runs to its own step budget (4 steps per character)
    assert "'hi yo': 16 steps, 2 words written apart, cut at the limit: hi, yo" in result.out
    assert "layout: word by word" not in result.out  # said only when auto chose it
    with np.load(out.with_suffix(".npz")) as npz:
        assert list(npz["texts"]) == ["hi yo"] and len(npz["points_0"]) == 16


def test_auto_layout_writes_a_whole_line_for_a_model_of_whole_lines(run_dir, tmp_path, cli):
    result = cli("write", "hi yo", "--checkpoint", run_dir, "--out", tmp_path / "page.png", "--seed", "0")
    assert result.code == 0, result.err
    assert "'hi yo': 20 steps, cut at the 20-step limit" in result.out


def test_auto_layout_writes_a_word_bank_models_lines_word_by_word(run_dir, tmp_path, cli):
    bank = as_word_bank_model(run_dir, tmp_path / "bank.pt")
    result = cli("write", "hi yo", "--checkpoint", bank, "--out", tmp_path / "page.png", "--seed", "0")
    assert result.code == 0, result.err
    assert "layout: word by word" in result.out and "2 words written apart" in result.out
    line = cli("write", "hi yo", "--checkpoint", bank, "--out", tmp_path / "l.png", "--layout", "line")
    assert line.code == 0 and "written apart" not in line.out


def test_a_run_without_a_seed_says_the_one_that_writes_it_again(tmp_path, cli):
    first = cli("write", "hello there", "--out", tmp_path / "a.png")
    said = first.out.strip().splitlines()[-1].split()
    assert said[0] == "seed" and said[2:4] == ["(--seed", said[1]], first.out
    cli("write", "hello there", "--out", tmp_path / "b.png", "--seed", said[1])
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert np.array_equal(a["points"], b["points"])
    greedy = cli("write", "hello there", "--out", tmp_path / "c.png", "--temperature", "0")
    assert "--seed" not in greedy.out  # the same whatever the seed
