"""Random geometry and resampling of handwriting samples, drawn afresh for every training batch.

Real pen data comes in small sets (3,500 words of one writer): shown the same points every epoch, the model
learns them by heart. Each draw changes what a writer varies anyway, by little: the size and width of the
letters, their slant, the tilt of the line, where the pen points fall along the ink (the stroke thinning's
spacing and phase), and where each stroke sits (a dot, a crossing). The text and the pen lifts never change.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from trajtok.errors import ConfigError
from trajtok.sample import HANDWRITING_DIMS, HANDWRITING_EVENTS, Sample, SampleSet
from trajtok.strokes import differentiate, integrate, thin_sample


@dataclasses.dataclass
class Augmentation:
    """The magnitude of each random change (0 turns it off) and which sources get them."""

    # "real": every source but the hershey stream (synthetic, already varied per sample); "always"; "never"
    apply: Literal["real", "always", "never"] = "real"
    scale: float = 0.1  # size x (1 +- scale), both axes
    stretch: float = 0.1  # width x (1 +- stretch): the aspect changes by at most this share
    slant: float = 0.15  # shear x += U(-slant, slant) * y
    rotation: float = 0.04  # radians, +-, about the start of the baseline
    resample: float = 0.25  # thinning spacing x (1 +- resample) at a random phase (needs data.spacing > 0)
    jitter: float = 0.02  # each stroke moved by N(0, jitter) x-heights in x and y

    def magnitudes(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("scale", "stretch", "slant", "rotation", "resample", "jitter")}

    def problems(self) -> list[tuple[bool, str]]:
        """The checks of these settings, as train_config's `_require` takes them."""
        bad_range = [k for k in ("scale", "stretch", "resample") if not 0 <= getattr(self, k) < 1]
        negative = [k for k in ("slant", "rotation", "jitter") if getattr(self, k) < 0]
        return [
            (bool(bad_range), f"data.augment.{', '.join(bad_range)} must be in [0, 1)"),
            (bool(negative), f"data.augment.{', '.join(negative)} must be >= 0"),
        ]

    def applies_to(self, source: str) -> bool:
        """Whether samples of `source` are augmented (pen data; see `check_data`)."""
        if self.apply == "real":
            return source != "hershey" and any(self.magnitudes().values())
        return self.apply == "always" and any(self.magnitudes().values())

    def check_data(self, source: str, samples: SampleSet, spacing: float) -> bool:
        """Whether these samples are augmented: pen data (dx, dy, pen_lift) of a source `applies_to`; robot
        demos never by default. ConfigError where a setting would fail or do nothing."""
        pen_data = (samples.dim_names, samples.event_names) == (HANDWRITING_DIMS, HANDWRITING_EVENTS)
        if not self.applies_to(source):
            return False
        if not pen_data:
            if self.apply == "always":
                raise ConfigError(
                    f"config: data.augment.apply=always: {source} is not pen data (channels "
                    f"{', '.join(samples.dim_names + samples.event_names)}); use apply=real or never"
                )
            return False
        if self.resample > 0 and spacing <= 0:
            raise ConfigError(
                "config: data.augment.resample varies the thinning: it needs data.spacing > 0 (or resample=0)"
            )
        return True


def affine(points: np.ndarray, scale: float, stretch: float, slant: float, angle: float) -> np.ndarray:
    """(T, >=2) absolute points: shear x by `slant` * y, widen x by `stretch`, rotate by `angle` (radians)
    about the origin, then scale both axes by `scale`. Columns past the first two are kept."""
    x = (points[:, 0] + slant * points[:, 1]) * stretch
    y = points[:, 1]
    cos, sin = np.cos(angle), np.sin(angle)
    out = points.copy()
    out[:, 0], out[:, 1] = scale * (cos * x - sin * y), scale * (sin * x + cos * y)
    return out


def jitter_strokes(points: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) absolute [x, y, pen_lift]: every stroke moved as a whole by its own N(0, sigma) offset."""
    stroke = np.concatenate([[0], np.cumsum(points[:-1, 2] > 0.5)])  # stroke number of each point
    offsets = rng.normal(0.0, sigma, size=(int(stroke[-1]) + 1, 2))
    out = points.copy()
    out[:, :2] += offsets[stroke]
    return out


def augment_sample(sample: Sample, config: Augmentation, spacing: float, rng: np.random.Generator) -> Sample:
    """One random draw of every change `config` turns on, applied to an unthinned sample, which is then
    thinned to about one point per `spacing` (jittered by `config.resample`, at a random phase)."""
    points = integrate(sample.deltas, sample.events[:, 0]).astype(np.float64)
    points = affine(
        points,
        1 + rng.uniform(-config.scale, config.scale),
        1 + rng.uniform(-config.stretch, config.stretch),
        rng.uniform(-config.slant, config.slant),
        rng.uniform(-config.rotation, config.rotation),
    )
    if config.jitter > 0:
        points = jitter_strokes(points, config.jitter, rng)
    deltas, _ = differentiate(points)
    moved = dataclasses.replace(sample, deltas=deltas.astype(sample.deltas.dtype))
    step = spacing * (1 + rng.uniform(-config.resample, config.resample))
    return thin_sample(moved, step, offset=float(rng.uniform(0.0, step)) if config.resample else 0.0)
