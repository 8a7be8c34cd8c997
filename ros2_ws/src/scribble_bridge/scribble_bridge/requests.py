"""What one request asks for, checked: the text, and a goal's per-request settings over the node's parameters.

A refusal is a one-line reason (returned, never raised), which the node reports in writer_status and, for an
action goal, as the aborted result's message. No ROS types here: the node passes the goal's fields in.
"""

from __future__ import annotations

import math

from trajtok.data.hershey import STYLES, synthesize
from trajtok.sample import Sample

STYLE_PRIME_TEXT = "the"  # a goal's `style`: the model continues a synthetic sample of this, in that hand
DEFAULT_TEMPERATURE = -1.0  # goal field values meaning "the node's parameter" (Write.action's defaults)
DEFAULT_SEED = -2
FRESH_SEED = -1


def text_refusal(text: str, max_chars: int, model_chars: int) -> str | None:
    """Why `text` cannot be written, or None. `model_chars`: what the model reads (a style prime's text
    counts against it)."""
    if not text.strip():
        return "empty request: send the text to write"
    for i, char in enumerate(text):
        if not " " <= char <= "~":
            return f"character {char!r} at position {i} is not printable ASCII; write ASCII text only"
    limit = min(max_chars, model_chars)
    if len(text) > limit:
        return (
            f"request has {len(text)} characters; at most {limit} "
            f"(parameter max_chars, model limit {model_chars})"
        )
    return None


def goal_settings(
    values: dict[str, object],
    limits: dict[str, tuple[float, float]],
    letter_height_m: float,
    temperature: float,
    seed: int,
    style: str,
) -> tuple[dict[str, object], Sample | None] | str:
    """The node's parameter `values` with a goal's settings laid over them, and the style prime (or None);
    or the reason the settings are refused. `limits`: the parameters' ranges (the same as for a set)."""
    values = dict(values)
    # The goal's float32 fields as the decimal the client wrote (0.3 arrives as 0.30000001192...).
    letter_height_m, temperature = (float(f"{v:.7g}") for v in (letter_height_m, temperature))
    if letter_height_m != 0.0:
        low, high = limits["letter_height_m"]
        if not (math.isfinite(letter_height_m) and low <= letter_height_m <= high):
            return (
                f"letter_height_m={letter_height_m:g} m is out of range [{low:g}, {high:g}] (0 = the node's)"
            )
        values["letter_height_m"] = float(letter_height_m)
    if math.isnan(temperature) or temperature >= 0:  # negative: the node's temperature
        low, high = limits["temperature"]
        if not (math.isfinite(temperature) and low <= temperature <= high):
            return f"temperature={temperature:g} is out of range [{low:g}, {high:g}] (negative = the node's)"
        values["temperature"] = float(temperature)
    if seed < DEFAULT_SEED:
        return f"seed={seed}: give a seed >= 0, {FRESH_SEED} for a fresh one or {DEFAULT_SEED} for the node's"
    if seed != DEFAULT_SEED:
        values["seed"] = int(seed)
    prime = None
    if style:
        names = [s.name for s in STYLES]
        if style not in names:
            return f"style {style!r} is not one of {', '.join(names)} ('' = the model's own hand)"
        prime = synthesize(STYLE_PRIME_TEXT, style_id=names.index(style), seed=0)
    return values, prime
