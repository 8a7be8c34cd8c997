"""CTC decoding invariants: collapse, greedy, and the beam search (width 1 is greedy)."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trajtok.ctc import beam_decode, collapse, greedy_decode


def log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def labeling_probability(log_probs: np.ndarray, labels: list[int]) -> float:
    """P(labels | frames) by the CTC forward algorithm (torch's ctc_loss)."""
    loss = F.ctc_loss(
        torch.from_numpy(log_probs)[:, None].float(),
        torch.tensor([labels], dtype=torch.long).reshape(1, -1),
        torch.tensor([len(log_probs)]),
        torch.tensor([len(labels)]),
        reduction="sum",
    )
    return float(torch.exp(-loss))


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([0, 3, 3, 0, 0, 3, 5, 5, 0]) == [3, 3, 5]
    assert collapse([1, 1, 1]) == [1]
    assert collapse([0, 0]) == []
    assert collapse([]) == []
    assert collapse([2, 0, 2]) == [2, 2]  # a blank between repeats keeps both


def test_greedy_takes_the_argmax_path():
    frames = np.log(np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.1, 0.7]]))
    assert greedy_decode(frames) == [1, 2]


@pytest.mark.parametrize("seed", range(40))
def test_beam_of_width_one_is_greedy(seed):
    rng = np.random.default_rng(seed)
    frames = log_softmax(rng.normal(0, 2, size=(int(rng.integers(1, 30)), 6)))
    assert beam_decode(frames, 1) == greedy_decode(frames)


def test_beam_finds_the_likelier_labeling_greedy_misses():
    # Each frame: blank 0.6 > 'a' 0.4, so the best path is all blanks (greedy reads nothing), but the summed
    # probability of every path reading "a" is 1 - 0.6**3 = 0.784 > 0.216.
    frames = np.log(np.array([[0.6, 0.4]] * 3))
    assert greedy_decode(frames) == []
    assert beam_decode(frames, 4) == [1]
    assert labeling_probability(frames, [1]) > labeling_probability(frames, [])


@pytest.mark.parametrize("seed", range(10))
def test_wide_beam_finds_the_most_probable_labeling_of_short_inputs(seed):
    rng = np.random.default_rng(100 + seed)
    frames = log_softmax(rng.normal(0, 1.5, size=(4, 3)))
    candidates = {tuple(collapse(p)) for p in itertools.product(range(3), repeat=4)}
    best = max(candidates, key=lambda c: labeling_probability(frames, list(c)))
    found = beam_decode(frames, 64)
    assert labeling_probability(frames, found) == pytest.approx(labeling_probability(frames, list(best)))


def test_beam_width_must_be_positive():
    with pytest.raises(ValueError, match="beam width"):
        beam_decode(np.zeros((2, 3)), 0)
