"""Lines written word by word (trajtok.word_layout): each word alone, laid out as training stitches words."""

import copy
import itertools

import numpy as np
import pytest

from trajtok.checkpoint import load_checkpoint
from trajtok.data.texts import covered_text_length
from trajtok.generate import Sampling, Writer
from trajtok.line_stitching import WORD_GAP_RANGE, join_words
from trajtok.phrase_layout import point_words, word_gaps
from trajtok.sample import Sample
from trajtok.strokes import integrate
from trajtok.word_layout import (
    WordByWordStream,
    board_pieces,
    board_steps,
    line_words,
    write_one_line,
    write_word_by_word,
    writes_word_by_word,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
GREEDY = Sampling(temperature=0.0, seed=0)


@pytest.fixture(scope="module")
def writer():
    return Writer.from_checkpoint()  # the shipped model


def test_each_word_is_written_alone_and_laid_out_with_a_gap_of_the_datas_kind(writer):
    lines, words = write_word_by_word(
        lambda texts: writer.write(texts, GREEDY), ["quiet river stones", "hello"], seed=3
    )
    line, one = lines
    assert [w.text for w in words[0]] == ["quiet", "river", "stones"] and line.text == "quiet river stones"
    assert one is words[1][0] and one.text == "hello"  # a one-word line is that word as written
    alone = writer.write(["quiet", "river", "stones"], GREEDY)
    assert len(line) == sum(map(len, alone))
    xy = integrate(line.deltas, line.events[:, 0])[:, :2]
    start = 0
    for word in alone:  # the letters are the words written alone; only the travel into each word moved
        own = integrate(word.deltas, word.events[:, 0])[:, :2]
        placed = xy[start : start + len(word)]
        np.testing.assert_allclose(placed - placed[0], own - own[0], atol=1e-4)
        np.testing.assert_array_equal(line.events[start : start + len(word)], word.events)
        start += len(word)
    gaps = word_gaps(line)
    assert len(gaps) == 2 and all(WORD_GAP_RANGE[0] - 1e-4 <= g <= WORD_GAP_RANGE[1] + 1e-4 for g in gaps)


def test_the_layout_is_drawn_from_the_seed(writer):
    def write(texts):
        return writer.write(texts, GREEDY)

    first, again, other = (write_word_by_word(write, ["seven brave foxes"], s)[0][0] for s in (1, 1, 2))
    np.testing.assert_array_equal(first.deltas, again.deltas)
    assert not np.array_equal(first.deltas, other.deltas)


def test_a_line_streamed_word_by_word_is_the_line_written_word_by_word_and_its_first_word_streams(writer):
    line = "seven brave foxes"
    whole, words = write_word_by_word(lambda texts: writer.write(texts, GREEDY), [line], seed=4)
    log = []

    def stream(word):
        log.append(f"asked {word}")
        for step in writer.stream(word, GREEDY):
            log.append(word)
            yield step

    laid_out = WordByWordStream(stream, line_words(line), np.random.default_rng(4))
    steps = []
    for step in laid_out:
        steps.append(step)
        log.append("yielded")
    deltas, events = np.stack([d for d, _ in steps]), np.stack([e for _, e in steps])
    np.testing.assert_allclose(np.cumsum(deltas, 0), np.cumsum(whole[0].deltas, 0), atol=1e-4)
    np.testing.assert_array_equal(events, whole[0].events)
    assert [w.text for w in laid_out.words] == line.split()
    for mine, theirs in zip(laid_out.words, words[0], strict=True):  # each word from its own origin
        np.testing.assert_allclose(mine.deltas, theirs.deltas, atol=1e-5)
    seven = log[: log.index("asked brave")]
    assert seven.count("yielded") == len(words[0][0])  # each step of the first word as it came
    brave = log[log.index("asked brave") : log.index("asked foxes")]
    n = len(words[0][1])
    assert brave == ["asked brave"] + ["brave"] * n + ["yielded"] * n  # a later word's steps: once it is done


def test_the_shipped_models_lines_are_as_long_as_its_training_texts_and_each_is_written_to_its_end(writer):
    # max_chars 24 only capped the training texts: they reach 20 (of 4,000, the 99.5th percentile), and
    # lines of 24 characters ran to the step budget (greedy: 'quiet river stones and a', 512 steps)
    assert writer.line_chars == covered_text_length(24) == 20
    phrase = "quiet river stones and a long phrase for the board"
    lines = writer.lines(phrase)
    assert all(len(line) <= 20 for line in lines) and " ".join(lines) == phrase
    for line, written in zip(lines, writer.write(lines, GREEDY), strict=True):
        limit = min(writer.step_budget(line), writer.model.config.max_steps)
        assert len(written) < limit, line  # it ended: no scribble up to the step limit


def test_a_phrase_longer_than_the_models_lines_goes_to_a_board_as_its_lines_laid_out_on_one(writer):
    phrase = "quiet river stones and a long phrase for the board"  # 50 characters, lines of 24
    lines = writer.lines(phrase)
    assert len(lines) == 3 and " ".join(lines) == phrase
    assert board_pieces(lines, word_by_word=False) == lines
    assert board_pieces(lines, word_by_word=True) == phrase.split()

    def write(texts):
        return writer.write(texts, GREEDY)

    line = write_one_line(write, lines, seed=2)
    alone = write(lines)
    assert line.text == phrase and len(line) == sum(map(len, alone))  # each line as written alone
    x = np.cumsum(line.deltas[:, 0])
    ends = np.cumsum([len(a) for a in alone])
    pieces_x = np.split(x, ends[:-1])
    for before, after in itertools.pairwise(pieces_x):  # the lines follow one another, a word gap apart
        assert after.min() - before.max() >= WORD_GAP_RANGE[0] - 1e-4
    steps = list(WordByWordStream(lambda text: writer.stream(text, GREEDY), lines, np.random.default_rng(2)))
    np.testing.assert_allclose(np.cumsum([d for d, _ in steps], 0), np.cumsum(line.deltas, 0), atol=1e-4)
    assert write_one_line(write, ["hello"], seed=2).deltas.tolist() == write(["hello"])[0].deltas.tolist()


def test_a_word_that_ends_at_once_keeps_its_text_and_the_others_their_ink():
    ink = Sample(np.array([[0.0, 0.0], [1.0, 0.5]], np.float32), np.array([[0], [1]], np.int8), text="a")
    empty = Sample(np.zeros((0, 2), np.float32), np.zeros((0, 1), np.int8), text="b")
    line = join_words([ink, empty, ink], [1.0, 1.0], [0.0, 0.0])
    assert line.text == "a b a" and len(line) == 4
    xy = integrate(line.deltas, line.events[:, 0])
    assert xy[2, 0] - xy[1, 0] == pytest.approx(1.0)  # one gap: the empty word takes no room


def test_auto_lays_out_word_by_word_only_for_a_model_trained_on_stitched_words():
    shipped = load_checkpoint(None)
    assert not Writer.from_loaded(shipped).stitched_words  # the print model learned whole lines
    bank = copy.copy(shipped)
    bank.extra = {
        **shipped.extra,
        "train_config": {"data": {"source": "bigbank", "words_per_sample": [1, 4]}},
    }
    assert Writer.from_loaded(bank).stitched_words
    assert writes_word_by_word("auto", True) and not writes_word_by_word("auto", False)
    assert writes_word_by_word("words", False) and not writes_word_by_word("line", True)
    with pytest.raises(ValueError, match="layout must be one of auto, words, line"):
        writes_word_by_word("word", True)
    assert line_words("  two  words ") == ["two", "words"] and line_words("") == [""]


def test_a_board_is_told_the_word_of_each_step(writer):
    """Streamed for a board, each step carries the word `write_one_line`'s sample declares for it: its
    piece's, where the piece is one word, else the word the model's spacer gave it."""

    def stream_words(text):
        return writer.stream_words(text, GREEDY)

    for pieces in (["seven", "brave", "foxes"], ["seven brave", "foxes"], ["seven brave"]):
        line = write_one_line(lambda texts: writer.write(texts, GREEDY), pieces, seed=4)
        steps = list(board_steps(stream_words, pieces, np.random.default_rng(4)))
        words = point_words(line)
        assert [w for w, _ in steps] == words.tolist()
        assert set(words.tolist()) == set(range(len(line.text.split()))) and (np.diff(words) >= 0).all()
        np.testing.assert_allclose(np.stack([d for _, (d, _) in steps]), line.deltas, atol=1e-4)
