"""The handwriting tokenizer, unchanged, on gripper trajectories (dims dx, dy, dz; event gripper)."""

from pathlib import Path

import numpy as np
import pytest

from trajtok.data.gripper import GRIPPER_DIMS, GRIPPER_EVENTS, load_gripper_demos
from trajtok.tokenizer import TrajectoryTokenizer

FIXTURES = Path(__file__).parent / "fixtures" / "gripper"


@pytest.fixture(scope="module")
def samples():
    return load_gripper_demos(FIXTURES / "demos")


@pytest.mark.parametrize("layout", ["factorized", "flat"])
def test_round_trip_keeps_events_and_end_point(samples, layout, tmp_path):
    tokenizer = TrajectoryTokenizer(samples.dim_names, samples.event_names, layout=layout).fit(
        samples.deltas()
    )
    assert tokenizer.channel_names == GRIPPER_DIMS + GRIPPER_EVENTS
    assert tokenizer.vocab_sizes == (25, 25, 25, 3)
    tokenizer = TrajectoryTokenizer.load(tokenizer.save(tmp_path / "tok.json"), GRIPPER_DIMS, GRIPPER_EVENTS)
    widest_bin = max(float(np.diff(b.edges).max()) for b in tokenizer.bins)
    for sample in samples:
        tokens = tokenizer.encode(sample.deltas, sample.events, add_eos=True)
        deltas, events = tokenizer.decode(tokens)
        assert deltas.shape == sample.deltas.shape
        np.testing.assert_array_equal(events, sample.events)
        # error feedback: the path never strays more than one bin from the demonstration, and ends closer
        # to the demonstration's end point than encoding each step on its own does
        path_error = np.abs(np.cumsum(deltas, 0) - np.cumsum(sample.deltas, 0)).max()
        assert path_error <= widest_bin, (path_error, widest_bin)
        plain, _ = tokenizer.decode(tokenizer.encode(sample.deltas, sample.events, error_feedback=False))
        end = sample.deltas.sum(0)
        assert np.linalg.norm(deltas.sum(0) - end) < np.linalg.norm(plain.sum(0) - end)


def test_handwriting_tokenizer_does_not_fit_gripper_data(samples, tmp_path):
    handwriting = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",)).fit(
        [np.random.default_rng(0).normal(size=(9, 2))]
    )
    path = handwriting.save(tmp_path / "hw.json")
    with pytest.raises(ValueError, match="do not fit"):
        TrajectoryTokenizer.load(path, samples.dim_names, samples.event_names)
