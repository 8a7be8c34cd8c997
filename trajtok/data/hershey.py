"""The embedded default corpus: synthetic online handwriting drawn from single-stroke Hershey fonts, offline.

Each writer (style_id) is a font plus a hand: slant, width, spacing, how round the corners get, how fast the
pen moves. Each sample varies that hand a little (scale, slant, spacing, baseline drift, rotation, per-letter
wobble) and then simulates the pen: the glyph polylines are rounded off, given a smooth low-amplitude tremor
and re-sampled in time with a speed that drops in curves and at stroke ends, so points bunch up where a real
pen slows down. Connected strokes are merged (joined script writes a whole word in one stroke); dots of joined
writers come after the word, as people write them. Everything is deterministic given (text, style, seed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from trajtok.data.glyphs import load_font
from trajtok.data.splits import canonical_split
from trajtok.data.texts import VALIDATION_PHRASES, TextSampler
from trajtok.sample import Sample, SampleSet

__all__ = ["VALIDATION_PHRASES", "STYLES", "Style", "iter_samples", "load", "synthesize", "style_ids"]

DENSE_STEP = 0.02  # x-heights between points of the densified glyph path the pen follows
DOT_SIZE = 0.3  # a stroke smaller than this (x-heights) is a dot: written after its letter or word
DIGIT_FONT = "cursive"
SCRIPT_OUTLINED = "0123456789"
DEFAULT_SIZES = {"train": 4000, "val": 400, "test": None}  # test: every validation phrase in every style


@dataclass(frozen=True)
class Style:
    """One synthetic writer's style (`data.styles`): a font and its habits (all lengths in x-heights)."""

    font: str
    slant: float = 0.0  # shear: x += slant * y
    width: float = 1.0  # horizontal stretch of every glyph
    letter_gap: float = 0.0  # extra space between letters
    word_gap: float = 0.0  # extra space for a blank
    joined: bool = False  # script: letters connect into one stroke, dots come after the word
    roundness: float = 0.05  # Gaussian corner rounding (x-heights of path)
    step: float = 0.3  # distance between points at full speed (x-heights)
    cap_scale: float = 1.0  # capitals and ascending marks of script fonts are tall: shrink them
    borrow: str = ""  # characters taken from DIGIT_FONT (script fonts draw digits as outlines)
    name: str = ""  # what configs call it (data.styles); its index in STYLES is its style_id


STYLES: tuple[Style, ...] = (
    Style("futural", slant=0.05, width=0.9, letter_gap=0.05, roundness=0.08, name="print"),
    Style("rowmans", slant=0.25, width=0.8, roundness=0.08, name="roman-slanted"),
    Style(
        "scripts",
        slant=0.05,
        width=0.9,
        joined=True,
        roundness=0.05,
        cap_scale=0.8,
        borrow=SCRIPT_OUTLINED,
        name="script",
    ),
    Style("cursive", slant=0.15, width=0.8, joined=True, roundness=0.06, cap_scale=0.8, name="cursive"),
    Style(
        "futural",
        slant=-0.05,
        width=1.05,
        letter_gap=0.12,
        word_gap=0.2,
        roundness=0.1,
        step=0.32,
        name="print-wide",
    ),
    Style(
        "scripts",
        slant=0.3,
        width=0.75,
        joined=True,
        roundness=0.08,
        step=0.32,
        cap_scale=0.75,
        borrow=SCRIPT_OUTLINED,
        name="script-slanted",
    ),
)


def style_ids(styles: Sequence[int | str]) -> list[int]:
    """Writers by name or style_id -> style_ids; an unknown one is a ValueError that lists them all."""
    by_name = {s.name: i for i, s in enumerate(STYLES)}
    ids = []
    for style in styles:
        i = by_name.get(style) if isinstance(style, str) else style
        if not isinstance(i, int) or not 0 <= i < len(STYLES):
            known = ", ".join(f"{i} {s.name}" for i, s in enumerate(STYLES))
            raise ValueError(f"no synthetic writer {style!r}; they are {known}")
        ids.append(i)
    return ids


@dataclass(frozen=True)
class Hand:
    """One sample's draw of its writer's habits."""

    style: Style
    scale: float
    slant: float
    width: float
    letter_gap: float
    word_gap: float
    rotation: float  # radians
    drift_slope: float  # baseline rise per x-height of run
    drift_amp: float  # baseline wave amplitude
    drift_period: float
    drift_phase: float
    tremor: float  # std of the smooth tremor (x-heights)
    step: float
    curve_slowdown: float  # speed = full / (1 + curve_slowdown * curvature)

    @classmethod
    def draw(cls, style: Style, rng: np.random.Generator) -> Hand:
        return cls(
            style=style,
            scale=float(rng.uniform(0.9, 1.1)),
            slant=style.slant + float(rng.normal(0, 0.06)),
            width=style.width * float(rng.uniform(0.9, 1.1)),
            letter_gap=style.letter_gap + float(rng.uniform(-0.03, 0.06)),
            word_gap=style.word_gap + float(rng.uniform(-0.15, 0.25)),
            rotation=float(rng.normal(0, 0.025)),
            drift_slope=float(rng.normal(0, 0.01)),
            drift_amp=float(rng.uniform(0, 0.08)),
            drift_period=float(rng.uniform(6, 14)),
            drift_phase=float(rng.uniform(0, 2 * np.pi)),
            tremor=float(rng.uniform(0.01, 0.03)),
            step=style.step * float(rng.uniform(0.85, 1.15)),
            curve_slowdown=float(rng.uniform(0.25, 0.5)),
        )


@dataclass
class _Stroke:
    xy: np.ndarray  # (N, 2) x-height units, y up
    owner: np.ndarray  # (N,) int: index into the text of the character each vertex belongs to


def _layout(text: str, hand: Hand, rng: np.random.Generator) -> list[_Stroke]:
    """Place each character's glyph strokes along the line, in writing order."""
    font, lender = load_font(hand.style.font), load_font(DIGIT_FONT)
    space = font.glyph(" ").advance * 0.6 + hand.word_gap
    strokes: list[_Stroke] = []
    deferred: list[_Stroke] = []  # dots of joined writers, written when the word ends
    x = float(rng.uniform(0.0, 0.2))
    for i, char in enumerate(text):
        glyph = (lender if char in hand.style.borrow else font).glyph(char)
        if char == " " or glyph is None:
            strokes += deferred
            deferred = []
            x += space
            continue
        letter_scale = float(rng.normal(1.0, 0.05)) * (hand.style.cap_scale if char.isupper() else 1.0)
        stretch = rng.normal(1.0, 0.05, size=2) * letter_scale
        shear = float(rng.normal(0.0, 0.05))
        lift = float(rng.normal(0.0, 0.04))
        body, dots = [], []
        for xy in glyph.strokes:
            letter_xy = np.stack([xy[:, 0] + shear * xy[:, 1], xy[:, 1]], axis=1) * stretch
            placed = _Stroke(letter_xy + (x, lift), np.full(len(xy), i))
            extent = np.ptp(xy, axis=0).max() if len(xy) > 1 else 0.0
            (dots if extent < DOT_SIZE else body).append(placed)
        strokes += body
        if hand.style.joined:
            deferred += dots
        else:
            strokes += dots
        x += glyph.advance * stretch[0] + hand.letter_gap + float(rng.normal(0, 0.04))
    return strokes + deferred


def _merge_touching(strokes: list[_Stroke], gap: float) -> list[_Stroke]:
    """Join strokes whose end and the next start are within `gap`: the pen would not lift there."""
    merged: list[_Stroke] = []
    for stroke in strokes:
        if merged and np.hypot(*(stroke.xy[0] - merged[-1].xy[-1])) <= gap:
            last = merged[-1]
            merged[-1] = _Stroke(
                np.concatenate([last.xy, stroke.xy]), np.concatenate([last.owner, stroke.owner])
            )
        else:
            merged.append(stroke)
    return merged


def _deform(xy: np.ndarray, hand: Hand) -> np.ndarray:
    """Global hand geometry: width, slant, rotation, a drifting baseline, overall scale."""
    x = xy[:, 0] * hand.width
    y = xy[:, 1]
    x = x + hand.slant * y
    cos, sin = np.cos(hand.rotation), np.sin(hand.rotation)
    x, y = cos * x - sin * y, sin * x + cos * y
    y = (
        y
        + hand.drift_slope * x
        + hand.drift_amp * np.sin(2 * np.pi * x / hand.drift_period + hand.drift_phase)
    )
    return np.stack([x, y], axis=1) * hand.scale


def _densify(stroke: _Stroke) -> tuple[np.ndarray, np.ndarray]:
    """Resample a polyline every DENSE_STEP of arc length: (M, 2) points and (M,) owners."""
    seg = np.hypot(*np.diff(stroke.xy, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] < DENSE_STEP:
        return stroke.xy[[0, -1]], stroke.owner[[0, -1]]
    grid = np.linspace(0.0, s[-1], int(np.ceil(s[-1] / DENSE_STEP)) + 1)
    xy = np.stack([np.interp(grid, s, stroke.xy[:, 0]), np.interp(grid, s, stroke.xy[:, 1])], axis=1)
    owner = stroke.owner[np.clip(np.searchsorted(s, grid, side="right") - 1, 0, len(s) - 1)]
    return xy, owner


def _pen_paths(strokes: list[_Stroke], hand: Hand, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Simulate the pen along every stroke of a sample at once.

    Returns (K, 2) timed points, (K,) owners and (K,) pen_lift (True on each stroke's last point).
    """
    dense = [_densify(stroke) for stroke in strokes]
    sizes = np.array([len(xy) for xy, _ in dense])
    ends = np.cumsum(sizes)
    starts = ends - sizes
    xy = np.concatenate([xy for xy, _ in dense])
    owner = np.concatenate([o for _, o in dense])
    stroke_of = np.repeat(np.arange(len(dense)), sizes)

    # Tremor: a few slow sinusoids of the distance the pen has travelled (it goes on across pen lifts).
    seg = np.hypot(*np.diff(xy, axis=0).T)
    within = stroke_of[1:] == stroke_of[:-1]  # segment i joins points i, i+1 of one stroke
    travelled = np.concatenate([[0.0], np.cumsum(np.where(within, seg, 0.5))])
    freq = rng.uniform(0.4, 1.6, size=(1, 3, 2))  # cycles per x-height of path, 3 per axis
    phase = rng.uniform(0, 2 * np.pi, size=(1, 3, 2))
    tremor = np.sin(2 * np.pi * travelled[:, None, None] * freq + phase).sum(axis=1)
    xy = xy + tremor * (hand.tremor / np.sqrt(1.5))

    # Corner rounding: one Gaussian pass, each stroke padded with copies of its ends so strokes never mix.
    sigma = hand.style.roundness / DENSE_STEP
    pad = int(4 * sigma) + 1
    index = np.concatenate(
        [
            np.concatenate([np.full(pad, a), np.arange(a, b), np.full(pad, b - 1)])
            for a, b in zip(starts, ends, strict=True)
        ]
    )
    keep = np.arange(len(xy)) + pad * (2 * stroke_of + 1)  # where each point sits among the padding
    xy = gaussian_filter1d(xy[index], sigma, axis=0, mode="nearest")[keep]

    # Speed: slower in curves (turning angle per length) and near both ends of a stroke.
    step = np.diff(xy, axis=0)
    seg = np.hypot(step[:, 0], step[:, 1])
    heading = np.arctan2(step[:, 1], step[:, 0])
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))  # at the point between segments i and i+1
    turn = np.concatenate([[0.0], np.where(within[1:] & within[:-1], turn, 0.0), [0.0]])
    curvature = gaussian_filter1d((turn[:-1] + turn[1:]) / 2 / np.maximum(seg, 1e-9), sigma=2, mode="nearest")
    arc = np.concatenate([[0.0], np.cumsum(np.where(within, seg, 0.0))])
    arc_in_stroke = arc - arc[starts][stroke_of]
    length = (arc[ends - 1] - arc[starts])[stroke_of[:-1]]
    s_mid = (arc_in_stroke[:-1] + arc_in_stroke[1:]) / 2
    ease = np.clip(np.minimum(s_mid, length - s_mid) / 0.2, 0.5, 1.0)
    speed = ease / (1.0 + hand.curve_slowdown * curvature)
    # Time along the strokes; a pen lift costs one unit so every stroke has its own stretch of time.
    t = np.concatenate([[0.0], np.cumsum(np.where(within, seg / speed, 1.0))])

    # Sample each stroke at equal time steps: start, end, and about one point per `hand.step` at full speed.
    t0, t1 = t[starts], t[ends - 1]
    counts = np.maximum(2, np.ceil((t1 - t0) / hand.step).astype(int) + 1)
    first = np.cumsum(counts) - counts
    k = np.arange(counts.sum()) - np.repeat(first, counts)
    query = np.repeat(t0, counts) + k / np.repeat(counts - 1, counts) * np.repeat(t1 - t0, counts)
    points = np.stack([np.interp(query, t, xy[:, 0]), np.interp(query, t, xy[:, 1])], axis=1)
    owners = owner[np.clip(np.searchsorted(t, query), 0, len(owner) - 1)]
    pen_lift = np.zeros(len(points), dtype=bool)
    pen_lift[first + counts - 1] = True
    return points, owners, pen_lift


def synthesize(text: str, style_id: int = 0, seed: int = 0, hand: Hand | None = None) -> Sample:
    """Draw `text` in writer `style_id` (mod len(STYLES)); deterministic given the arguments. `hand`: write in
    this draw of the writer's habits (`Hand.draw`) instead of the one the seed draws, as a person writes
    several texts in one sitting (the seed's own draw is still made, so the letters vary as they would)."""
    style = STYLES[style_id % len(STYLES)]
    if hand is not None and hand.style != style:
        raise ValueError(f"a hand of writer {hand.style.name!r} given for writer {style.name!r}")
    rng = np.random.default_rng([seed, style_id, *text.encode("utf-8")])
    drawn = Hand.draw(style, rng)
    hand = drawn if hand is None else hand
    strokes = _layout(text, hand, rng)
    strokes = _merge_touching(strokes, gap=0.3 if hand.style.joined else 0.02)
    strokes = [_Stroke(_deform(s.xy, hand), s.owner) for s in strokes if len(s.xy)]
    if not strokes:
        return Sample(
            deltas=np.zeros((0, 2), np.float32),
            events=np.zeros((0, 1), bool),
            text=text,
            style_id=style_id,
            char_index=np.zeros(0, np.int32),
        )
    points, owners, pen_lift = _pen_paths(strokes, hand, rng)
    return Sample(
        deltas=np.diff(points, axis=0, prepend=np.zeros((1, 2))).astype(np.float32),
        events=pen_lift[:, None],
        text=text,
        style_id=style_id,
        char_index=owners.astype(np.int32),
    )


def iter_samples(split: str = "train", seed: int = 0, max_chars: int = 24) -> Iterator[Sample]:
    """Unbounded stream of samples for split "train" or "val"; sample i depends only on (split, seed, i)."""
    split = canonical_split(split)
    if split not in ("train", "val"):
        raise ValueError(f"the synthetic stream has splits train and val, not {split!r}")
    texts = TextSampler(split, max_chars)
    i = 0
    while True:
        yield _stream_sample(texts, seed, i)
        i += 1


def stream_sample(i: int, split: str = "train", seed: int = 0, max_chars: int = 24) -> Sample:
    """Sample i of `iter_samples(split, seed, max_chars)`, made alone: a prime or style reference far down
    the stream costs one sample, not the i before it."""
    return _stream_sample(TextSampler(split, max_chars), seed, i)


def _stream_sample(texts: TextSampler, seed: int, i: int) -> Sample:
    rng = np.random.default_rng([seed, 0 if texts.split == "train" else 1, i])
    text = texts.sample(rng)
    return synthesize(text, style_id=int(rng.integers(len(STYLES))), seed=int(rng.integers(2**31)))


def test_samples(seed: int = 0) -> list[Sample]:
    """Every validation phrase in every writer's hand."""
    return [
        synthesize(phrase, style_id=style, seed=seed)
        for phrase in VALIDATION_PHRASES
        for style in range(len(STYLES))
    ]


def load(
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    max_chars: int = 24,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSet:
    """A fixed-size split: the first `n` samples of the stream (test: validation phrases in every hand)."""
    split = canonical_split(split)
    if split == "test":
        samples = test_samples(seed)[:n]
    else:
        if split == "all":
            raise ValueError("the synthetic corpus is unbounded: ask for split train, val or test")
        total = n if n is not None else DEFAULT_SIZES[split]
        stream = iter_samples(split, seed, max_chars)
        samples = []
        for done in range(1, total + 1):
            samples.append(next(stream))
            if progress and (done % 256 == 0 or done == total):
                progress(done, total)
    return SampleSet(samples=samples, source=f"hershey:{split}")
