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
def ink_profile(char: str) -> tuple[np.ndarray, np.ndarray]:
    """Where the reference font puts a char's ink: (segment mid-heights (K,), lengths (K,))."""
    glyph = load_font(REFERENCE_FONT).glyph(char)
    mids, lengths = [], []
    for stroke in glyph.strokes if glyph else ():
        seg = np.diff(stroke, axis=0)
        mids.append((stroke[1:, 1] + stroke[:-1, 1]) / 2)
        lengths.append(np.hypot(seg[:, 0], seg[:, 1]))
    if not mids:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(mids), np.concatenate(lengths)
