"""The embedded synthetic corpus: determinism, conventions, character alignment, disjoint train/val texts."""

import dataclasses
import itertools
import re

import numpy as np
import pytest

from trajtok.data import hershey, load_source
from trajtok.data.texts import (
    LINE_CHARS,
    VALIDATION_PHRASES,
    TextSampler,
    covered_text_length,
    held_out_words,
    is_training_text,
    tokens,
)
from trajtok.strokes import integrate
from trajtok.text import DEFAULT_CHARS


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


def same_samples(a, b) -> bool:
    return all(
        x.text == y.text
        and x.style_id == y.style_id
        and np.array_equal(x.deltas, y.deltas)
        and np.array_equal(x.events, y.events)
        and np.array_equal(x.char_index, y.char_index)
        for x, y in zip(a, b, strict=True)
    )


def test_synthesize_is_deterministic_given_text_style_and_seed():
    a = hershey.synthesize("Quick 42!", style_id=3, seed=7)
    b = hershey.synthesize("Quick 42!", style_id=3, seed=7)
    c = hershey.synthesize("Quick 42!", style_id=3, seed=8)
    assert same_samples([a], [b])
    assert a.deltas.shape != c.deltas.shape or not np.array_equal(a.deltas, c.deltas)


def ink_slant(sample) -> float:
    """dx per dy over the mostly vertical pen moves."""
    d = sample.deltas[1:][~sample.events[:-1, 0]]
    vertical = d[np.abs(d[:, 1]) > np.abs(d[:, 0])]
    return float((vertical[:, 0] * np.sign(vertical[:, 1])).sum() / np.abs(vertical[:, 1]).sum())


def test_synthesize_writes_in_a_given_hand_and_refuses_another_writers():
    style = hershey.STYLES[3]
    upright = dataclasses.replace(hershey.Hand.draw(style, np.random.default_rng(0)), slant=0.0, rotation=0.0)
    leaning = dataclasses.replace(upright, slant=0.4)
    texts = ("minimum", "illicit mill")
    a, b = (hershey.synthesize(t, style_id=3, seed=1, hand=upright) for t in texts)
    assert same_samples([a], [hershey.synthesize(texts[0], style_id=3, seed=1, hand=upright)])
    assert not same_samples([a], [hershey.synthesize(texts[0], style_id=3, seed=1)])
    for text in texts:  # the same letters, sheared by 0.4 more
        straight, sheared = (
            ink_slant(hershey.synthesize(text, style_id=3, seed=1, hand=h)) for h in (upright, leaning)
        )
        assert 0.2 < sheared - straight < 0.5
    with pytest.raises(ValueError, match="a hand of writer 'cursive' given for writer 'print'"):
        hershey.synthesize("word", style_id=0, hand=upright)


def test_fixed_split_is_deterministic_and_a_prefix_of_the_stream():
    first = load_source("hershey", split="train", n=12, seed=5, use_cache=False)
    again = load_source("hershey", split="train", n=12, seed=5, use_cache=False)
    other = load_source("hershey", split="train", n=12, seed=6, use_cache=False)
    assert same_samples(first.samples, again.samples)
    assert [s.text for s in first] != [s.text for s in other]
    stream = list(itertools.islice(hershey.iter_samples("train", seed=5), 14))
    assert same_samples(first.samples, stream[:12])
    # any one sample of the stream, made alone (a prime or style reference far down it)
    alone = [hershey.stream_sample(i, "train", seed=5) for i in (0, 7, 13)]
    assert same_samples(alone, [stream[0], stream[7], stream[13]])
    val = list(itertools.islice(hershey.iter_samples("val", seed=5), 3))
    assert same_samples([hershey.stream_sample(2, "val", seed=5)], val[2:])


@pytest.mark.parametrize("style_id", range(len(hershey.STYLES)))
def test_sample_conventions_and_char_index(style_id):
    text = "Box of jam, 7 kg!"
    sample = hershey.synthesize(text, style_id=style_id, seed=1)
    T = len(sample)
    assert sample.deltas.dtype == np.float32 and sample.deltas.shape == (T, 2)
    assert sample.events.dtype == bool and sample.events.shape == (T, 1)
    assert sample.events[-1, 0]  # the last point ends a stroke
    assert sample.style_id == style_id
    index = sample.char_index
    assert index.dtype == np.int32 and index.shape == (T,)
    written = {i for i, c in enumerate(text) if c != " "}
    assert set(index.tolist()) == written  # every character drawn, no point on a blank
    if not hershey.STYLES[style_id].joined:  # joined writers dot their i's after the word
        assert (np.diff(index) >= 0).all()
    # Normalized units: x-height letters sit on the baseline and reach about 1.
    xoxo = hershey.synthesize("xoxo", style_id=style_id, seed=1)
    points = integrate(xoxo.deltas, xoxo.events[:, 0])
    low, high = np.percentile(points[:, 1], [5, 95])
    assert -0.25 < low < 0.25 and 0.75 < high < 1.35


def test_sequences_are_compact():
    samples = load_source("hershey", split="train", n=60, seed=2, use_cache=False)
    points = sum(len(s) for s in samples)
    chars = sum(len(s.text.replace(" ", "")) for s in samples)
    assert 12 < points / chars < 40
    assert max(len(s.text) for s in samples) <= 24
    lifts = np.concatenate([s.events[:, 0] for s in samples])
    assert 0.02 < lifts.mean() < 0.3  # strokes of several points, not one stroke per point


def test_train_and_validation_texts_are_disjoint():
    rng = np.random.default_rng(0)
    train = TextSampler("train")
    train_texts = [train.sample(rng) for _ in range(3000)]
    held = held_out_words()
    assert all(is_training_text(t) for t in train_texts)
    assert not {w for t in train_texts for w in tokens(t)} & held
    validation = load_source("hershey", split="val", n=80, seed=0, use_cache=False)
    val_texts = {s.text for s in validation}
    assert not val_texts & set(train_texts)
    for text in val_texts:  # every validation text is written with held-out words
        assert any(w in held for w in tokens(text)), text
    for phrase in VALIDATION_PHRASES:
        assert not is_training_text(phrase)
        assert any(w in held for w in tokens(phrase)), phrase


def test_training_texts_cover_every_supported_character():
    rng = np.random.default_rng(1)
    sampler = TextSampler("train")
    seen = set("".join(sampler.sample(rng) for _ in range(3000)))
    assert set(DEFAULT_CHARS) <= seen
    assert re.fullmatch(r"[ -~]+", "".join(sorted(seen)))  # nothing outside printable ASCII


def test_training_texts_reach_the_line_width_often():
    """The text positions near the end of the lines `trajtok write` cuts at (covered_text_length) are
    trained: with 1 text in 20 longer than 16 characters, a model blurred the last letters of long lines."""
    rng = np.random.default_rng(2)
    sampler = TextSampler("train")
    lengths = np.array([len(sampler.sample(rng)) for _ in range(4000)])
    width = covered_text_length(24)
    assert width == LINE_CHARS[1] == 20
    assert (lengths > 16).mean() > 0.09
    assert (lengths >= 18).mean() > 0.04
    assert (lengths > width).mean() < 0.005  # the lines drawn to fill stay within the width


def test_test_split_writes_every_validation_phrase_in_every_hand():
    test = load_source("hershey", split="test", use_cache=False)
    assert len(test) == len(VALIDATION_PHRASES) * len(hershey.STYLES)
    assert {s.text for s in test} == set(VALIDATION_PHRASES)
    assert {s.style_id for s in test} == set(range(len(hershey.STYLES)))


def test_bad_requests_fail_clearly():
    with pytest.raises(ValueError, match="unknown split"):
        load_source("hershey", split="everything")
    with pytest.raises(ValueError, match="unbounded"):
        load_source("hershey", split="all")
    with pytest.raises(ValueError, match="unknown option"):
        load_source("hershey", n=2, max_points=10)


def test_the_default_styles_are_the_print_writers():
    """The default config names the writers it keeps (data.styles); they must stay the print ones, which
    OCR reads, whatever the order of STYLES."""
    from trajtok.train_config import TrainConfig

    chosen = [hershey.STYLES[i] for i in hershey.style_ids(TrainConfig().data.styles)]
    assert [w.font for w in chosen] == ["futural", "rowmans", "futural"]
    assert not any(w.joined for w in chosen)


def test_writers_are_chosen_by_name_or_style_id():
    names = [w.name for w in hershey.STYLES]
    assert len(set(names)) == len(names) and all(names)
    assert hershey.style_ids(["cursive", 0, "print-wide"]) == [3, 0, 4]
    for bad in ("comic-sans", len(hershey.STYLES), -1):
        with pytest.raises(ValueError, match=r"no synthetic writer .*; they are 0 print, 1 roman-slanted"):
            hershey.style_ids([bad])
