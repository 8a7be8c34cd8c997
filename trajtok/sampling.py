"""How a phrase is sampled (`Sampling`) and the defaults every front end shares: kept free of torch so the
command line can name them in its help without loading the model code."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trajtok.seeds import SEED_RANGE, is_seed

# The temperature of `trajtok write`, `sim write`, the studio and the ROS node unless told. Tesseract CER of
# the shipped model (bench/legibility.py --random-seed 1, 30 fresh phrases): 0.060 at 0.5, 0.192 at 0.8,
# 0.043 greedy; 0.5 still varies from seed to seed (the drafts' DRAFT_TEMPERATURE, for the same reason).
DEFAULT_TEMPERATURE = 0.5
DEFAULT_STYLE_GUIDANCE = 1.0


@dataclass(frozen=True)
class Sampling:
    """How a phrase is sampled: what the CLI, the simulator and the ROS node pass to `Writer` as one value.

    temperature 0 = greedy; `seed` None = a fresh seed; `max_steps` None = the phrase's per-character budget.
    `style_guidance`: how strongly a style reference steers a model with a style encoder (classifier-free
    guidance: the logits move from the no-style ones through the styled ones by this factor; 1 = the styled
    logits as they are, no extra pass).
    """

    temperature: float = DEFAULT_TEMPERATURE
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    max_steps: int | None = None
    style_guidance: float = DEFAULT_STYLE_GUIDANCE

    def __post_init__(self):
        t, k, p = self.temperature, self.top_k, self.top_p
        if (
            not (math.isfinite(t) and t >= 0)
            or (k is not None and k < 1)
            or (p is not None and not 0 < p <= 1)
        ):
            raise ValueError(f"need temperature >= 0, top_k >= 1, 0 < top_p <= 1 (got {t}, {k}, {p})")
        if self.seed is not None and not is_seed(self.seed):
            raise ValueError(f"need seed None or {SEED_RANGE} (got {self.seed})")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"need max_steps >= 1 (got {self.max_steps})")
        if not (math.isfinite(self.style_guidance) and self.style_guidance >= 0):
            raise ValueError(f"need style_guidance >= 0 (got {self.style_guidance})")
