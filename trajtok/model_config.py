"""The stroke transformer's settings (trajtok/model.py reads them): kept free of torch, so the configs
and the command line's help name them without loading the network."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    d_model: int = 128
    n_heads: int = 4
    n_enc_layers: int = 2
    n_dec_layers: int = 3
    d_ff: int = 512
    dropout: float = 0.0  # the default run overfits nothing at 6,000 steps; longer runs set 0.1
    max_steps: int = 512  # decoder positions (trajectory steps incl. the end step)
    max_text: int = 64  # characters
    state_dim: int = 0  # > 0: condition on a state vector (B, S) as an extra memory token
    within_step_ar: bool = True  # False: independent per-channel heads (for comparison)
    reads: bool = False  # True: also read strokes back to text through a CTC head (one model, both ways)
    style_steps: int = 0  # > 0: condition on the hand of a reference sample, its first this many steps
