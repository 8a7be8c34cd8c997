"""Single-stroke Hershey font glyphs in handwriting units (x-height 1, y up, baseline at y = 0).

Used by the synthetic corpus (hershey.py) to draw text, and by every loader (normalize.py) as a reference for
where a text's ink should lie vertically, which is how a sample's x-height is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from HersheyFonts import HersheyFonts

# Lowercase letters with neither ascender nor descender: their top is the x-height.
X_HEIGHT_LETTERS = "acemnorsuvwxz"
REFERENCE_FONT = "futural"
INK_STEP = 0.02  # x-heights between the points that sample a reference glyph's ink


@dataclass(frozen=True)
class Glyph:
    strokes: tuple[
        np.ndarray, ...
    ]  # each (N, 2) float32, x-height units, y up, baseline 0, left side at x = 0
    advance: float  # horizontal distance to the next glyph's left side


@dataclass(frozen=True)
class Font:
    name: str
    glyphs: dict[str, Glyph]

    def glyph(self, char: str) -> Glyph | None:
        return self.glyphs.get(char)


@cache
def load_font(name: str) -> Font:
    """A built-in Hershey font scaled so its x-height is 1."""
    hershey = HersheyFonts()
    try:
        hershey.load_default_font(name)
    except ValueError as exc:
        raise ValueError(
            f"unknown Hershey font {name!r}; built-in fonts: {hershey.default_font_names}"
        ) from exc
    raw = hershey.all_glyphs
    baseline = float(hershey.render_options["base_line"])  # Hershey y grows downwards
    x_height = float(np.median([baseline - raw[c].draw_box[0][1] for c in X_HEIGHT_LETTERS]))
    glyphs = {}
    for char, g in raw.items():
        strokes = tuple(
            np.array([(x - g.left_offset, baseline - y) for x, y in s], dtype=np.float32) / x_height
            for s in g.strokes
            if len(s) > 0
        )
        glyphs[char] = Glyph(strokes=strokes, advance=g.char_width / x_height)
    return Font(name=name, glyphs=glyphs)


@cache
def ink_profile(char: str) -> np.ndarray:
    """Where the reference font puts a character's ink: heights (K,) of points every INK_STEP along it."""
    glyph = load_font(REFERENCE_FONT).glyph(char)
    heights = [stroke_heights(stroke, INK_STEP) for stroke in (glyph.strokes if glyph else ())]
    return np.concatenate(heights + [np.zeros(0, np.float32)])


def stroke_heights(stroke: np.ndarray, step: float) -> np.ndarray:
    """y of points spaced `step` apart along a (N, 2) polyline (at least its first point)."""
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    return np.interp(np.arange(0.0, s[-1] + 1e-9, step), s, stroke[:, 1]).astype(np.float32)
