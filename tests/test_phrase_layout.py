"""Whole phrases: the end step waits for the last character, blanks leave gaps, strokes are drawn smooth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from trajtok.data.hershey import VALIDATION_PHRASES
from trajtok.data.texts import held_out_lines
from trajtok.generate import Writer
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.phrase_layout import (
    FINISH_STEPS,
    FOLLOWS_CHARACTERS,
    FOLLOWS_WORDS,
    AttentionTrack,
    WordSpacer,
    blank_words,
    space_words,
    word_gaps,
)
from trajtok.recognize import Recognizer
from trajtok.sample import Sample
from trajtok.sampling import Sampling
from trajtok.strokes import smooth_stroke, turning_deg_per_mm
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.train import load_samples
from trajtok.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def steps_of(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Strokes (absolute (N, 2) points) -> deltas (T, 2) and pen lifts (T, 1)."""
    points = np.concatenate(strokes)
    deltas = np.diff(points, axis=0, prepend=np.zeros((1, 2))).astype(np.float32)
    lifts = np.zeros((len(points), 1), bool)
    lifts[np.cumsum([len(s) for s in strokes]) - 1] = True
    return deltas, lifts


def bar(x: float, height: float = 1.0) -> np.ndarray:
    return np.array([[x, height], [x, 0.0]], np.float32)


def test_the_spacer_moves_close_words_apart_whole_and_leaves_far_ones():
    text = "ab cd ef"  # blanks at 2 and 5
    strokes = [bar(0.0), bar(0.5), bar(0.7), bar(1.2), bar(4.0), bar(4.5)]  # "cd" too close, "ef" far
    focus = [0, 0, 1, 1, 3, 3, 4, 4, 6, 6, 7, 7]
    deltas, lifts = steps_of(strokes)
    spaced = space_words(Sample(deltas, lifts, text=text), np.array(focus), [2, 5], min_gap=0.8)
    x = np.cumsum(spaced.deltas[:, 0])
    assert x[4] == pytest.approx(0.5 + 0.8) and x[6] == pytest.approx(1.2 + 0.6)  # moved as a whole
    assert x[8] == pytest.approx(4.6) and x[10] == pytest.approx(5.1)  # the rest of the line follows
    np.testing.assert_array_equal(spaced.deltas[:, 1], deltas[:, 1])  # only the travel into a word changes
    changed = np.flatnonzero(~np.isclose(spaced.deltas[:, 0], deltas[:, 0]))
    assert changed.tolist() == [4]  # "ef" was far enough already
    gaps = word_gaps(dataclasses.replace(spaced, char_index=np.array(focus, np.int32)))
    assert min(gaps) == pytest.approx(0.8)
    assert spaced.word_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4  # the words it decided, declared


def test_the_spacer_lets_the_last_words_dot_through_and_streams_what_it_writes_whole():
    text = "li ab"  # the dot of the i comes after the word, attending the blank
    dot = np.array([[0.45, 1.4]], np.float32)
    strokes = [bar(0.0), bar(0.5), dot, bar(0.9), bar(1.3)]
    focus = [0, 0, 1, 1, 2, 3, 3, 4, 4]
    deltas, lifts = steps_of(strokes)
    spacer = WordSpacer([2], min_gap=0.8)
    streamed = [s for d, e, f in zip(deltas, lifts, focus, strict=True) for s in spacer.add(d, e, f)]
    streamed += list(spacer.flush())
    x = np.cumsum([d[0] for d, _, _ in streamed])
    assert x[4] == pytest.approx(0.45)  # the dot stays over its i
    assert x[5] == pytest.approx(0.5 + 0.8)  # the next word keeps the gap from the i, not from the dot
    whole = space_words(Sample(deltas, lifts, text=text), np.array(focus), [2], 0.8)
    np.testing.assert_allclose(np.stack([d for d, _, _ in streamed]), whole.deltas)
    assert whole.word_index.tolist() == [0] * 5 + [1] * 4  # the dot is the i's
    assert [crossed for _, _, crossed in streamed] == whole.word_index.tolist()


def test_a_word_begins_where_its_first_strokes_pen_down_attends_it_though_the_travel_lags():
    text = "ab cd"  # the travel into c still attends b, its first pen-down step c (the shipped model's 'fox')
    strokes = [bar(0.0), bar(0.5), bar(0.7, 1.5), bar(1.2)]
    focus = [0, 0, 1, 1, 1, 3, 4, 4]
    deltas, lifts = steps_of(strokes)
    spaced = space_words(Sample(deltas, lifts, text=text), np.array(focus), [2], min_gap=0.8)
    assert spaced.word_index.tolist() == [0] * 4 + [1] * 4  # the c is of "cd", not of "ab"
    x = np.cumsum(spaced.deltas[:, 0])
    assert x[4] == pytest.approx(0.5 + 0.8)  # the gap goes before the c, not between c and d
    assert x[6] - x[4] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "text, words", [("ab cd", [0, 1]), ("a  b", [0, 1, 1]), (" hi", [0, 0]), ("hi ", [0, 0]), ("", [0])]
)
def test_blanks_crossed_name_the_word_of_the_text(text, words):
    assert blank_words(text).tolist() == words


def test_the_end_waits_until_the_last_character_has_been_attended():
    track = AttentionTrack([3, -1], torch.device("cpu"))
    on_first, on_last = torch.eye(4)[[0, 0]], torch.eye(4)[[3, 3]]
    assert track(on_first).tolist() == [False, True]  # no text: never gated
    allowed = [track(on_last)[0].item() for _ in range(FINISH_STEPS + 1)]
    assert allowed == [False] * FINISH_STEPS + [True]
    assert track.row(0).tolist() == [0] + [3] * (FINISH_STEPS + 1)


@pytest.fixture(scope="module")
def eager_writer():
    """A tiny untrained model whose end logit always wins: it would end every phrase at once."""
    torch.manual_seed(0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=8).fit([np.random.randn(300, 2)])
    config = ModelConfig(d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=1, d_ff=64, max_steps=200)
    model = StrokeTransformer(config, CharTokenizer().vocab_size, tokenizer.vocab_sizes)
    with torch.no_grad():
        model.heads[0].proj.bias[-1] = 50.0
    return model, tokenizer


@pytest.mark.parametrize(
    ("follows", "text", "last"), [(FOLLOWS_CHARACTERS, "ab", 1), (FOLLOWS_WORDS, "ab cd", 3)]
)
def test_a_model_that_follows_the_text_cannot_end_before_its_last_character(
    eager_writer, follows, text, last
):
    """Following characters: the end waits for the last character; following words: for the last word."""
    model, tokenizer = eager_writer
    plain = Writer(model, tokenizer, CharTokenizer(), max_steps_per_char=50)
    assert len(plain.write(text, Sampling(temperature=0))[0]) == 0  # ends at once
    gated = Writer(model, tokenizer, CharTokenizer(), max_steps_per_char=50, follows=follows)
    sample = gated.write(text, Sampling(temperature=0))[0]
    focus = gated.attention(sample).argmax(1)
    budget = gated.step_budget(text)
    assert len(sample) >= FINISH_STEPS and (focus >= last).sum() >= FINISH_STEPS or len(sample) == budget
    streamed = list(gated.stream(text, Sampling(temperature=0)))
    assert len(streamed) == len(sample)


@pytest.fixture(scope="module")
def shipped_phrases():
    writer = Writer.from_checkpoint(None)
    written = [s for t in (0.0, 0.5) for s in writer.write(list(VALIDATION_PHRASES), Sampling(t, seed=0))]
    return writer, written


def test_every_blank_of_the_validation_phrases_leaves_a_gap_like_the_data(shipped_phrases):
    writer, written = shipped_phrases
    data = load_samples(TrainConfig().data, "train", 600, 0).samples
    p10 = np.percentile([g for s in data for g in word_gaps(s)], 10)
    assert writer.min_word_gap > p10  # what the checkpoint keeps: the data's 25th percentile
    gaps = []
    for sample in written:  # which character each step drew: the one it attended
        char_index = writer.attention(sample).argmax(1).astype(np.int32)
        gaps += word_gaps(dataclasses.replace(sample, char_index=char_index))
    assert len(gaps) == 2 * sum(p.count(" ") for p in VALIDATION_PHRASES)
    assert min(gaps) >= p10


def test_no_validation_phrase_ends_before_its_last_letter_is_written(shipped_phrases):
    writer, written = shipped_phrases
    for sample in written:
        focus = writer.attention(sample).argmax(1)
        last = len(sample.text.rstrip()) - 1
        assert (focus >= last).sum() >= FINISH_STEPS, sample.text
        assert sample.events[-1, 0], sample.text  # the last stroke is finished: the pen lifted


def test_the_last_word_of_a_long_line_is_written_as_legibly_as_the_first(shipped_phrases):
    """Lines at the width `trajtok write` cuts at (20): the model shipped before misread the last word of
    about a third of them (the text positions near a line's end were seldom trained) and the first of few."""
    writer = shipped_phrases[0]
    lines = [line for n in (18, 19, 20) for line in held_out_lines(n, 10, np.random.default_rng(n), 2)]
    reads = [
        r.text.split() or [""]
        for r in Recognizer.from_checkpoint().recognize(writer.write(lines, Sampling(0.0, seed=0)))
    ]
    last_wrong = np.mean([read[-1] != line.split()[-1] for read, line in zip(reads, lines, strict=True)])
    first_wrong = np.mean([read[0] != line.split()[0] for read, line in zip(reads, lines, strict=True)])
    assert writer.line_chars == 20 and first_wrong <= 0.1
    assert last_wrong <= 0.15, f"last words misread: {last_wrong:.2f} of {len(lines)} lines"


def test_smooth_strokes_pass_through_every_point_and_turn_less():
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.2]], np.float64)
    curve = smooth_stroke(corners)
    assert curve.dtype == np.float64 and len(curve) > 10 * len(corners)
    for point in corners:
        assert np.linalg.norm(curve - point, axis=1).min() < 1e-12
    assert turning_deg_per_mm([curve], 10.0) < 0.5 * turning_deg_per_mm([corners], 10.0)
    assert smooth_stroke(corners[:2]).shape == (2, 2)  # two points: the segment itself


def test_a_word_bank_model_lifts_the_pen_once_its_last_letter_is_written():
    """A model that gives the lift less than an even chance at every step never lifts at temperature 0; one
    that follows words lifts (LAST_LIFT_BIAS) only once FINISH_STEPS steps have attended the last letter."""
    torch.manual_seed(0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=8).fit([np.random.randn(300, 2)])
    config = ModelConfig(d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=1, d_ff=64, max_steps=200)
    model = StrokeTransformer(config, CharTokenizer().vocab_size, tokenizer.vocab_sizes)
    with torch.no_grad():
        model.heads[0].proj.bias[-1] = -50.0  # never ends: every phrase runs to its step budget
        model.heads[2].proj.weight.zero_()
        model.heads[2].proj.bias.copy_(torch.tensor([0.0, -0.8, -50.0]))  # P(lift) 0.31 at every step
    text = "ab cd"
    lifts = {}
    for follows in (FOLLOWS_CHARACTERS, FOLLOWS_WORDS):
        writer = Writer(model, tokenizer, CharTokenizer(), max_steps_per_char=8, follows=follows)
        sample = writer.write(text, Sampling(temperature=0))[0]
        on_last = np.cumsum(writer.attention(sample).argmax(1) >= len(text) - 1)
        lifts[follows] = np.flatnonzero(sample.events[:, 0])
        if follows == FOLLOWS_WORDS:
            assert on_last[-1] > FINISH_STEPS  # the test means something: the last letter was reached
            assert len(lifts[follows]) and (on_last[lifts[follows]] >= FINISH_STEPS).all()
    assert len(lifts[FOLLOWS_CHARACTERS]) == 0  # a print model's lifts are its own
