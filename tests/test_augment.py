"""Augmentation of real handwriting: each change does what it says, off is the identity, the text and the pen
lifts never change, and training draws every batch afresh (seeded), for real sources only by default."""

import dataclasses

import numpy as np
import pytest

from trajtok.augment import Augmentation, affine, augment_sample, jitter_strokes
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.errors import ConfigError
from trajtok.sample import SampleSet
from trajtok.strokes import integrate, thin_sample
from trajtok.train import prepare_data
from trajtok.train_config import TrainConfig

OFF = Augmentation(scale=0, stretch=0, slant=0, rotation=0, resample=0, jitter=0)


def word():
    """An unthinned word: synthetic, so it knows its characters."""
    return synthesize("minimum", 1, seed=3)


def points(sample):
    return integrate(sample.deltas, sample.events[:, 0]).astype(np.float64)


def only(**magnitudes) -> Augmentation:
    return dataclasses.replace(OFF, **magnitudes)


def test_all_off_is_the_plain_thinning():
    sample = word()
    for seed in range(3):
        out = augment_sample(sample, OFF, 0.4, np.random.default_rng(seed))
        plain = thin_sample(sample, 0.4)
        np.testing.assert_allclose(out.deltas, plain.deltas, atol=1e-5)
        assert (out.events == plain.events).all() and (out.char_index == plain.char_index).all()


def test_slant_shears_x_by_y():
    xy = np.array([[0.0, 0.0, 0], [1.0, 2.0, 0], [3.0, -1.0, 1]])
    out = affine(xy, scale=1.0, stretch=1.0, slant=0.25, angle=0.0)
    np.testing.assert_allclose(out[:, 0], xy[:, 0] + 0.25 * xy[:, 1])
    np.testing.assert_allclose(out[:, 1:], xy[:, 1:])
    sample = word()
    slanted = augment_sample(sample, only(slant=0.3), 0.0, np.random.default_rng(0))
    before, after = points(sample), points(slanted)
    shear = np.linalg.lstsq(before[:, 1:2], after[:, 0] - before[:, 0], rcond=None)[0][0]
    assert 0 < abs(shear) <= 0.3 and np.allclose(after[:, 1], before[:, 1], atol=1e-5)


def test_scale_keeps_the_aspect_within_the_stretch_bounds():
    sample = word()
    before = points(sample)
    aspect = np.ptp(before[:, 0]) / np.ptp(before[:, 1])
    sizes, aspects = [], []
    for seed in range(40):
        after = points(augment_sample(sample, only(scale=0.2, stretch=0.1), 0.0, np.random.default_rng(seed)))
        sizes.append(np.ptp(after[:, 1]) / np.ptp(before[:, 1]))
        aspects.append(np.ptp(after[:, 0]) / np.ptp(after[:, 1]) / aspect)
    assert 0.8 - 1e-6 <= min(sizes) < 0.9 and 1.1 < max(sizes) <= 1.2 + 1e-6  # the size varies by +-20 %
    assert min(aspects) >= 0.9 - 1e-6 and max(aspects) <= 1.1 + 1e-6 and np.ptp(aspects) > 0.05


def test_rotation_turns_the_ink_about_the_origin_by_at_most_its_angle():
    sample = word()
    before = points(sample)
    for seed in range(10):
        after = points(augment_sample(sample, only(rotation=0.05), 0.0, np.random.default_rng(seed)))
        np.testing.assert_allclose(
            np.hypot(after[:, 0], after[:, 1]), np.hypot(before[:, 0], before[:, 1]), atol=1e-4
        )
        turned = np.arctan2(after[:, 1], after[:, 0]) - np.arctan2(before[:, 1], before[:, 0])
        far = np.hypot(before[:, 0], before[:, 1]) > 1
        turn = np.angle(np.exp(1j * turned[far]))
        assert np.ptp(turn) < 1e-4 and abs(turn[0]) <= 0.05


def test_jitter_moves_each_stroke_as_a_whole():
    sample = word()
    before = points(sample)
    after = jitter_strokes(before, 0.05, np.random.default_rng(0))
    shift = after[:, :2] - before[:, :2]
    stroke = np.concatenate([[0], np.cumsum(before[:-1, 2] > 0.5)])
    assert stroke[-1] >= 1  # more than one stroke
    for k in range(stroke[-1] + 1):
        assert np.ptp(shift[stroke == k], axis=0).max() < 1e-9  # one offset per stroke
    assert len({tuple(np.round(shift[stroke == k][0], 9)) for k in range(stroke[-1] + 1)}) == stroke[-1] + 1
    assert (after[:, 2] == before[:, 2]).all()


def test_resampling_keeps_the_pen_lifts_and_the_text_and_moves_the_points():
    sample = word()
    plain = thin_sample(sample, 0.4)
    lengths = set()
    for seed in range(8):
        out = augment_sample(sample, only(resample=0.3), 0.4, np.random.default_rng(seed))
        assert out.text == sample.text and out.events.sum() == sample.events.sum()
        assert out.events[-1, 0] and len(out.char_index) == len(out)
        ends = points(out)[out.events[:, 0]]  # every stroke still ends where it ended
        np.testing.assert_allclose(ends, points(plain)[plain.events[:, 0]], atol=1e-4)
        lengths.add(len(out))
    assert len(lengths) > 2 and all(0.6 * len(plain) < n < 1.6 * len(plain) for n in lengths)


def test_the_same_draw_gives_the_same_sample():
    sample, config = word(), Augmentation()
    a = augment_sample(sample, config, 0.4, np.random.default_rng([0, 5]))
    b = augment_sample(sample, config, 0.4, np.random.default_rng([0, 5]))
    c = augment_sample(sample, config, 0.4, np.random.default_rng([0, 6]))
    assert np.array_equal(a.deltas, b.deltas) and not np.array_equal(a.deltas[: len(c)], c.deltas[: len(a)])


def test_on_by_default_for_real_sources_only():
    default = TrainConfig().data
    assert not default.augment.applies_to("hershey") and default.augment.applies_to("bigbank")
    assert Augmentation(apply="always").applies_to("hershey")
    assert not Augmentation(apply="never").applies_to("bigbank")
    assert not OFF.applies_to("bigbank")  # every magnitude 0: nothing to draw


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.augment.scale=-0.1", "data.augment.scale must be in"),
        ("data.augment.resample=1.5", "data.augment.resample must be in"),
        ("data.augment.jitter=-1", "data.augment.jitter must be >= 0"),
        ("data.augment.apply=sometimes", "augment: apply: .sometimes. is not one of real"),
    ],
)
def test_bad_augmentation_settings_are_refused_by_name(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(TrainConfig, None, ["data.source=bigbank", override])


def test_resampling_needs_thinning_and_robot_demos_are_never_augmented_by_default():
    hershey = ["data.augment.apply=always", "data.n_train=8", "data.n_val=2", "batch_size=4"]
    with pytest.raises(ConfigError, match=r"data.augment.resample .* data.spacing > 0"):
        prepare_data(load_config(TrainConfig, None, [*hershey, "data.spacing=0"]))
    assert prepare_data(
        load_config(TrainConfig, None, [*hershey, "data.spacing=0", "data.augment.resample=0"])
    ).draws
    demos = SampleSet([], dim_names=("dx", "dy", "dz"), event_names=("grip",))
    assert not Augmentation().check_data("demos/", demos, 0.0)
    with pytest.raises(ConfigError, match="data.augment.apply=always: demos/ is not pen data"):
        Augmentation(apply="always").check_data("demos/", demos, 0.0)
