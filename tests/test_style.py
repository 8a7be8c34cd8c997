"""Writing in a hand from samples (trajtok.style, `trajtok write --style`): the layout of the prime, a tiny
model of two writers that continues the reference's hand with the new text, the CLI flags, bad style files."""

import json

import numpy as np
import pytest
import torch
from test_generate import overfit_model, sample_of

from trajtok.checkpoint import save_checkpoint
from trajtok.generate import Writer
from trajtok.sample import Sample
from trajtok.sampling import Sampling
from trajtok.strokes import integrate
from trajtok.style import STYLE_GAP, StyleError, check_style, from_samples, load_style, style_prime
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Two writers of one stroke per character: A draws loops, B tall bars; a blank is a longer lead.
LETTER = {"A": ("loop", 10), "B": ("bar", 8)}
GAP_LEAD = (1.2, 0.0)


def hand(writer: str, text: str) -> Sample:
    kind, n = LETTER[writer]
    parts, lead = [], (0.3, 0.0)
    for char in text:
        if char == " ":
            lead = GAP_LEAD
            continue
        parts.append((kind, n, lead))
        lead = (0.3, 0.0)
    return sample_of(text, parts)


def reference(writer: str) -> Sample:
    """The strokes of 'ab' that start the writer's training lines."""
    line = hand(writer, "ab c")
    n = 2 * LETTER[writer][1]
    return Sample(line.deltas[:n], line.events[:n], text="ab")


def strokes_of(sample: Sample) -> list[np.ndarray]:
    points = integrate(sample.deltas, sample.events[:, 0])
    return np.split(points[:, :2], np.flatnonzero(points[:, 2] > 0.5)[:-1] + 1)


def is_bar(stroke: np.ndarray) -> bool:
    width, height = np.ptp(stroke, axis=0)
    return height > 3 * width


def bars_written(npz) -> list[bool]:
    """Which strokes of the first line of a `trajtok write` .npz are tall bars (hand B)."""
    with np.load(npz) as written:
        points = written["points_0"]
    lifts = np.flatnonzero(points[:, 2] > 0.5)
    return [is_bar(s) for s in np.split(points[:, :2], lifts[:-1] + 1)]


@pytest.fixture(scope="module")
def two_writers(tmp_path_factory):
    """A tiny model overfit on 'ab c' and 'ab ccc' in both hands (seconds): the text is the same for both,
    so only the strokes of 'ab' say which hand goes on. Saved as a checkpoint for the CLI, whose facts say
    it was trained on lines of at most 10 characters."""
    torch.manual_seed(0)
    samples = [hand(w, t) for w in "AB" for t in ("ab c", "ab ccc")]
    rng = np.random.default_rng(0)  # bins fitted on jittered strokes: no edge sits on a stroke's own step
    jittered = [s.deltas + rng.normal(0, 0.02, s.deltas.shape) for s in samples for _ in range(4)]
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=16).fit(jittered)
    model, text_tokenizer = overfit_model(samples, tokenizer, max_steps=96, max_text=24), CharTokenizer()
    path = tmp_path_factory.mktemp("style") / "two_writers.pt"
    facts = {"max_steps_per_char": 12, "train_config": {"data": {"source": "hershey", "max_chars": 10}}}
    save_checkpoint(path, model, tokenizer, text_tokenizer, model.config, facts)  # trained on lines of <= 10
    return Writer(model, tokenizer, text_tokenizer, max_steps_per_char=12), path


def style_file(path, samples: list[Sample], **arrays):
    """An .npz as `trajtok write` writes it (points_<i>, texts), plus any extra arrays (writer, writers)."""
    points = {f"points_{i}": integrate(s.deltas, s.events[:, 0]) for i, s in enumerate(samples)}
    np.savez(path, texts=np.array([s.text for s in samples]), **points, **arrays)
    return path


def ct_json(path, records: list[tuple[str, str | None]]):
    """A cursive-transformer JSON of a small zigzag per record: (text, author)."""
    points = [[0.1 * i, 0.5 + 0.1 * (i % 2), 1] for i in range(12)]
    body = [
        {"metadata": {"asciiSequence": text, **({"author": who} if who else {})}, "points": points}
        for text, who in records
    ]
    path.write_text(json.dumps(body))
    return path


# -- the library ------------------------------------------------------------------------------------------
def test_style_prime_lays_samples_out_on_one_line():
    first, second = hand("A", "ab"), hand("A", "c")
    prime = style_prime(from_samples([first, second]), CharTokenizer())
    assert prime.text == "ab c" and len(prime) == len(first) + len(second)
    points = integrate(prime.deltas, prime.events[:, 0])
    n = len(first)
    np.testing.assert_allclose(points[:n, :2], integrate(first.deltas, first.events[:, 0])[:, :2], atol=1e-5)
    assert points[n - 1, 2] == 1 and points[-1, 2] == 1  # the pen lifts at the end of each sample
    own = integrate(second.deltas, second.events[:, 0])[:, :2]
    shift = points[n:, :2] - own
    np.testing.assert_allclose(shift, shift[:1].repeat(len(own), 0), atol=1e-5)  # moved, not reshaped
    assert shift[0, 1] == pytest.approx(0, abs=1e-6)  # same baseline
    assert points[n:, 0].min() == pytest.approx(points[:n, 0].max() + STYLE_GAP, abs=1e-5)


def test_check_style_refuses_what_makes_no_style():
    tokenizer, good = CharTokenizer(), hand("A", "ab")
    check_style(from_samples([good]), tokenizer)
    nan = Sample(good.deltas.copy(), good.events, text="ab")
    nan.deltas[3, 0] = np.nan
    bad = {
        "no style samples": [],
        "at most 5": [good] * 6,
        "several writers": [Sample(good.deltas, good.events, "ab", style_id=i) for i in (0, 1)],
        "NaN/inf at point 3": [nan],
        "has no text": [Sample(good.deltas, good.events)],
        "outside this model's alphabet ('é')": [Sample(good.deltas, good.events, text="é")],
    }
    for fragment, samples in bad.items():
        with pytest.raises(StyleError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            check_style(from_samples(samples), tokenizer)


def test_load_style_reads_writers_from_both_formats(tmp_path):
    loaded = load_style(style_file(tmp_path / "me.npz", [hand("A", "ab"), hand("A", "c")], writer="me"))
    assert [s.sample.text for s in loaded] == ["ab", "c"] and {s.writer for s in loaded} == {"me"}
    np.testing.assert_allclose(loaded[0].sample.deltas, hand("A", "ab").deltas, atol=1e-6)
    records = load_style(ct_json(tmp_path / "ct.json", [("mum", "ann"), ("nun", "ann")]))
    assert [(s.sample.text, s.writer) for s in records] == [("mum", "ann"), ("nun", "ann")]


# -- behaviour: the hand follows the reference, the text follows the new text --------------------------
def test_new_text_is_written_in_the_reference_hand(two_writers):
    writer, _ = two_writers
    greedy = Sampling(temperature=0)
    for who, want_bars in (("A", False), ("B", True)):
        prime = style_prime(from_samples([reference(who)]), writer.text_tokenizer)
        one, three = writer.write(["c", "ccc"], greedy, prime=prime)
        assert [len(strokes_of(one)), len(strokes_of(three))] == [1, 3]  # the new text, not the reference's
        assert [is_bar(s) for s in strokes_of(three)] == [want_bars] * 3, who


# -- the command line ------------------------------------------------------------------------------------
def test_write_style_file_and_style_source(two_writers, tmp_path, cli):
    _, checkpoint = two_writers
    base = ["write", "ccc", "--checkpoint", checkpoint, "--temperature", "0", "--out"]
    for who, want_bars in (("A", False), ("B", True)):
        style = style_file(tmp_path / f"{who}.npz", [reference(who)], writer=who)
        out = tmp_path / f"{who}.png"
        result = cli(*base, out, "--style", style)
        assert result.code == 0, result.err
        assert "style: 1 sample of one hand, primed as 'ab'" in result.out
        assert bars_written(out.with_suffix(".npz")) == [want_bars] * 3, who

    # beside the prime 'ab ' a line has 7 characters left: a longer phrase goes onto two lines
    style = style_file(tmp_path / "ab.npz", [reference("B")])
    wrapped = cli("write", "ccc ccc c", *base[2:], tmp_path / "wrapped.png", "--style", style)
    assert "'ccc ccc c': 9 characters, written as 2 lines of at most 7" in wrapped.out, wrapped.err
    with np.load(tmp_path / "wrapped.npz") as written:
        assert list(written["texts"]) == ["ccc ccc", "c"]

    source = ct_json(tmp_path / "two.json", [("mum", "ann"), ("nun", "ann"), ("mom", None)])
    argv = ["write", "c", "--checkpoint", checkpoint, "--out", tmp_path / "src.png"]
    result = cli(*argv, "--style-source", source, "--style-index", "0,1")
    assert result.code == 0, result.err
    assert "style: 2 samples of one hand, primed as 'mum nun'" in result.out


def test_bad_style_input_is_one_line_and_exit_2(two_writers, tmp_path, cli):
    _, checkpoint = two_writers
    ab = reference("A")
    good = style_file(tmp_path / "good.npz", [ab])
    nan = Sample(ab.deltas.copy(), ab.events, text="ab")
    nan.deltas[2] = np.nan

    def write(*args, text="ccc"):
        return cli("write", text, "--checkpoint", checkpoint, "--out", tmp_path / "x.png", *args)

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    write("--style", empty).user_error("empty.json: holds no samples")
    mixed = ct_json(tmp_path / "mixed.json", [("mum", "ann"), ("nun", "bob")])
    write("--style", mixed).user_error("several writers", "record 0: ann", "record 1: bob")
    half = ct_json(tmp_path / "half.json", [("mum", "ann"), ("nun", None)])
    write("--style", half).user_error("several writers", "record 1: undeclared")
    named = style_file(tmp_path / "named.npz", [reference("A")] * 2, writers=np.array(["ann", "bob"]))
    write("--style", named).user_error("several writers", "points_1: bob")
    write("--style", style_file(tmp_path / "nan.npz", [nan])).user_error("nan.npz: points_0: NaN/inf")
    accented = style_file(tmp_path / "accent.npz", [Sample(ab.deltas, ab.events, text="né")])
    write("--style", accented).user_error("accent.npz: points_0", "outside this model's alphabet ('é')")
    write("--style", good, text="café").user_error("phrase: text 'café'", "model's alphabet ('é')")
    write("--style", good, text="cccccccc").user_error("line of 11 characters", "lines of at most 10")
    wrapping = write("--style", good, text="c cccccccc")  # refused before any line is cut
    wrapping.user_error("'ab' and the word 'cccccccc' make a line of 11 characters", "lines of at most 10")
    assert "written as" not in wrapping.out
    many = style_file(tmp_path / "many.npz", [reference("A")] * 6, writer="A")
    write("--style", many).user_error(
        "many.npz: holds 6 samples; a style takes 1-5: choose them with --style-source", "--style-index 0,1,2"
    )
    write("--style", good, "--prime-source", "hershey").user_error("--prime-source and --style together")
    write("--style", good, "--style-source", "hershey").user_error("--style and --style-source together")
    source = ct_json(tmp_path / "two.json", [("mum", "ann"), ("nun", "ann")])
    write("--style-source", source, "--style-index", "0,5").user_error(
        "two.json: has 2 samples, so --style-index 5 does not exist"
    )
    write("--style-source", source, "--style-index", "0,x").user_error("--style-index expects integers")
    write("--style-source", source, "--style-index", "-1").user_error("distinct integers >= 0")
    textless = tmp_path / "textless.npz"
    np.savez(textless, points_0=integrate(ab.deltas, ab.events[:, 0]))
    write("--style", textless).user_error("textless.npz: points_0: has no text")
