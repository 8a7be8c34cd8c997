"""Lines from single words: stitched words keep their shapes, sit a declared word gap apart on one baseline,
come from one writer, and train (data.words_per_sample), refused by name when out of range."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from trajtok.batching import BatchOrder, collate, encode_samples
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.errors import ConfigError
from trajtok.line_stitching import WORD_GAP_RANGE, draw_word_gaps, join_words, stitch_lines
from trajtok.phrase_layout import (
    FOLLOWS_CHARACTERS,
    FOLLOWS_WORDS,
    last_character,
    text_following,
    word_gaps,
)
from trajtok.strokes import integrate, thin_sample
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.train import prepare_data, train, training_batch, word_bounds
from trajtok.train_config import TrainConfig, load_train_config

CONFIGS = Path(__file__).parents[1] / "configs"


def words(style=1):
    return [synthesize(text, style, seed=k) for k, text in enumerate(["quiet", "river", "stones"])]


def test_joined_words_sit_the_given_gaps_apart_and_keep_their_shapes():
    parts = words()
    line = join_words(parts, [0.8, 1.3], [0.05, -0.04])
    assert line.text == "quiet river stones"
    assert line.events.sum() == sum(w.events.sum() for w in parts) and len(line) == sum(map(len, parts))
    np.testing.assert_allclose(word_gaps(line), [0.8, 1.3], atol=1e-5)
    xy = integrate(line.deltas, line.events[:, 0])[:, :2]
    for k, (word, drift) in enumerate(zip(parts, [0.0, 0.05, -0.04], strict=True)):
        start = sum(len(w.text) + 1 for w in parts[:k])  # word k's characters follow k blanks
        placed = xy[(line.char_index >= start) & (line.char_index < start + len(word.text))]
        own = integrate(word.deltas, word.events[:, 0])[:, :2]
        np.testing.assert_allclose(placed - placed[0], own - own[0], atol=1e-4)  # the same letters
        assert abs(placed[0, 1] - own[0, 1] - drift) < 1e-4  # its baseline moved by its drift


def test_word_gaps_follow_the_declared_distribution():
    gaps = draw_word_gaps(20000, np.random.default_rng(0))
    assert WORD_GAP_RANGE[0] <= gaps.min() and gaps.max() <= WORD_GAP_RANGE[1]
    assert 0.95 < np.median(gaps) < 1.05 and np.percentile(gaps, 10) > 0.65


def test_lines_hold_one_writer_and_1_to_n_words():
    pool = words(style=1) + [synthesize(t, 2, seed=9) for t in ("kite", "foxes", "brave", "seven")]
    lines = stitch_lines(pool, 200, (1, 3), seed=0)
    counts = [len(line.text.split(" ")) for line in lines]
    assert set(counts) == {1, 2, 3}
    for line in lines:
        texts = line.text.split(" ")
        writers = {w.style_id for w in pool if w.text in texts}
        assert len(texts) == len(set(texts)) and writers == {line.style_id}  # no word twice, one writer
    assert stitch_lines(pool, 200, (1, 3), seed=0)[5].text == lines[5].text  # seeded
    assert [s.text for s in stitch_lines(pool, 3, (1, 1), seed=0)] == [w.text for w in pool[:3]]


def test_a_line_stops_growing_at_the_length_budget():
    pool = words()
    lines = stitch_lines(pool, 50, (3, 3), seed=0, lengths=[10, 10, 10], max_length=25)
    assert {len(line.text.split(" ")) for line in lines} == {2}
    lonely = stitch_lines(pool, 5, (3, 3), seed=0, lengths=[10, 10, 10], max_length=5)
    assert {len(line.text.split(" ")) for line in lonely} == {1}  # a word longer than the budget stays


@pytest.mark.parametrize("value", ["[-1, 4]", "[0, 2]", "[3, 2]", "[2]"])
def test_words_per_sample_out_of_range_is_refused_by_name(value):
    with pytest.raises(ConfigError, match=r"data.words_per_sample must be \[min, max\] with 1 <= min <= max"):
        load_config(TrainConfig, None, [f"data.words_per_sample={value}"])


def test_negative_words_per_sample_is_one_line_and_exit_2_on_the_cli(cli):
    run = cli("train", "handwriting", "--print-config", "data.words_per_sample=-2,4")
    assert "data.words_per_sample" in run.user_error("words_per_sample")


def word_bank(path: Path, authors: list[str]) -> Path:
    """A cursive-transformer JSON word bank of synthetic words, one style per author."""
    records = []
    texts = ["ink", "pen", "page", "line", "word", "dot", "arc", "loop"]
    for k in range(240):
        author = authors[k % len(authors)]
        sample = synthesize(texts[k % len(texts)], authors.index(author), seed=k)
        xyl = integrate(sample.deltas, sample.events[:, 0]).astype(float)
        size = np.ptp(xyl[:, 1]) + 1
        points = [[x / size, (2 - y) / size, 0 if lift else 1] for x, y, lift in xyl]
        records.append({"metadata": {"asciiSequence": sample.text, "author": author}, "points": points})
    path.write_text(json.dumps(records))
    return path


def test_a_word_bank_trains_into_lines_drawn_afresh_each_batch(tmp_path, one_torch_thread):
    """Words of two authors stitched 2-3 per sample: texts with blanks, one writer per line, and augmented
    batches that differ from batch to batch but repeat for the same batch number (as a resume draws)."""
    bank = word_bank(tmp_path / "bank.json", ["ann", "bob"])
    overrides = [f"data.source={bank}", "data.words_per_sample=2,3", "data.n_train=40", "data.n_val=8"]
    overrides += ["model.max_text=32", "steps=4", "checkpoint_every=2", "sample_phrases=pen ink"]
    config = load_train_config("handwriting", CONFIGS / "tiny.yaml", overrides)
    data = prepare_data(config)
    assert all(1 <= text.count(" ") <= 2 for text in data.train.texts + data.val.texts)
    assert data.draws is not None and len(data.draws.samples) == len(data.train)
    order = BatchOrder(data.train.lengths, 8, 0, 4)
    first, again, second = (training_batch(k, data.train, order, config, data.draws) for k in (0, 0, 1))
    assert all((first[key] == again[key]).all() for key in first)
    plain = training_batch(0, data.train, order, config)
    assert first["tokens"].shape != plain["tokens"].shape or (first["tokens"] != plain["tokens"]).any()
    summary = train(config, tmp_path / "run")
    assert np.isfinite(summary.val_loss) and summary.step == config.steps
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    gaps = [m["loss_gap"] for m in map(json.loads, metrics) if "loss_gap" in m]
    assert gaps and all(np.isfinite(gaps))
    val = [json.loads(m) for m in metrics if '"val"' in m][-1]  # the bank knows words, not letters
    assert "val_attention_accuracy" not in val and 0 <= val["val_word_attention_accuracy"] <= 1
    assert data.min_word_gap > WORD_GAP_RANGE[0]  # the stitched lines' gaps, measured through word_index


def test_stitched_words_without_letters_know_their_words_through_thinning_and_batching():
    parts = [dataclasses.replace(w, char_index=None) for w in words()]  # as a word bank's words come
    line = join_words(parts, [0.8, 1.3], [0.0, 0.0])
    assert line.char_index is None
    assert np.array_equal(np.unique(line.word_index), [0, 1, 2])
    np.testing.assert_allclose(word_gaps(line), [0.8, 1.3], atol=1e-5)  # read off word_index
    thin = thin_sample(line, 0.4)
    assert len(thin) < len(line) and np.all(np.diff(thin.word_index) >= 0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=16).fit([thin.deltas])
    data = encode_samples([thin], tokenizer, CharTokenizer(), 400, 32)
    batch = collate(data, [0])
    assert batch["char_index"].eq(-1).all()
    assert batch["word_index"][0, :-1].tolist() == thin.word_index.tolist()  # the end step: no word
    first, last = word_bounds([line.text], batch["word_index"])
    k = thin.word_index
    assert first[0, :-1].tolist() == [(0, 6, 12)[w] for w in k] and last[0, :-1].tolist() == [
        (4, 10, 17)[w] for w in k
    ]
    assert (first[0, -1], last[0, -1]) == (0, -1)  # unknown: no character can hit it


def test_what_a_model_is_trusted_to_follow_is_what_was_measured():
    assert text_following({"attention_accuracy": 0.95}) == FOLLOWS_CHARACTERS
    assert text_following({"attention_accuracy": 0.5, "word_attention_accuracy": 0.95}) == FOLLOWS_WORDS
    assert text_following({"word_attention_accuracy": 0.8}) == text_following({}) == ""
    assert last_character("quiet river ") == 10 and last_character("quiet river ", FOLLOWS_WORDS) == 6
    assert last_character("  ") == -1
