"""Re-sampling ink at equal steps, the feature rows, and what makes a sample unreadable."""

import numpy as np

from trajtok.data.hershey import synthesize
from trajtok.ink_features import FEATURES, check_ink, features_from_points, ink_features, resample_points
from trajtok.sample import Sample
from trajtok.strokes import integrate, thin_sample


def test_strokes_are_resampled_at_equal_steps_keeping_ends():
    points = np.array([[0, 0, 0], [1.0, 0, 1], [5, 5, 0], [5, 6, 1], [9, 9, 1]], dtype=np.float32)
    xy, starts = resample_points(points, 0.25)
    assert starts.tolist() == [True] + [False] * 4 + [True] + [False] * 4 + [True]
    np.testing.assert_allclose(xy[:5, 0], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(xy[5:10, 1], [5, 5.25, 5.5, 5.75, 6.0])
    np.testing.assert_allclose(xy[10], [9, 9])  # a dot stays one point


def test_features_do_not_depend_on_how_densely_the_pen_was_sampled():
    sample = synthesize("minimum", style_id=3, seed=1)
    dense = ink_features(sample, 0.15)
    sparse = ink_features(thin_sample(sample, 0.05), 0.15)
    assert dense.shape[1] == len(FEATURES)
    assert abs(len(dense) - len(sparse)) <= 0.03 * len(dense)
    assert np.abs(dense[:, :2]).max() <= 1.0 + 1e-5  # in-stroke moves are at most one step
    assert (dense[:, 3] == 0).sum() == sample.events[:, 0].sum()  # one pen-up start per stroke


def test_pen_up_travel_goes_to_its_own_channels():
    points = np.array([[0, 0, 0], [1.0, 0, 1], [3, 0, 0], [4, 0, 1]], dtype=np.float32)
    rows = features_from_points(points, 0.5)
    second = np.flatnonzero(rows[:, 3] == 0)[1]
    np.testing.assert_allclose(rows[second, 4:6], [2.0, 0.0])
    np.testing.assert_allclose(rows[second, :2], [0.0, 0.0])


def test_unreadable_samples_are_named():
    def sample(deltas):
        deltas = np.asarray(deltas, dtype=np.float32).reshape(-1, 2)
        events = np.zeros((len(deltas), 1), bool)
        return Sample(deltas, events)

    assert "empty" in check_ink(sample([]))
    assert "single point" in check_ink(sample([[1, 1]]))
    assert "NaN/inf at point 1" in check_ink(sample([[0, 0], [np.nan, 1], [1, 1]]))
    assert "split it" in check_ink(sample(np.ones((100_000, 2))))
    good = synthesize("ok", 0)
    assert check_ink(good) is None
    assert len(integrate(good.deltas, good.events[:, 0])) == len(good)
