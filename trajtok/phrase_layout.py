"""Whole phrases from a model whose cross-attention follows the text: no letter (or word) dropped at the end,
a visible gap at every blank.

The rules read the character each step attends to most (the last decoder layer's cross-attention, head
mean), which the attention-alignment loss trains to be the character being drawn. How far that is trusted is
measured on the validation lines (`text_following`): the character drawn (data that knows each point's
character: the synthetic writers), or only the word drawn (`word_attention_accuracy`: lines stitched from a
word bank know each point's word, not its letter):
- `AttentionTrack` records it per step and gates the end step: a phrase may end only once `FINISH_STEPS`
  steps have attended its last character (every validation phrase of the shipped model spends 6 or more
  there), or for a model that follows words, its last word; so the end cannot come while it is still due;
- `WordSpacer` moves each word that follows a blank to the right, as a whole, when its ink would come
  closer than `min_gap` (handwriting units) to the ink of the word before. Only the pen-up travel into the
  word grows; the letters are the model's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from trajtok.sample import Sample

FINISH_STEPS = 4  # steps attending the last character before the end step is allowed
# The rules apply to a model whose attention peaks on the character being drawn on at least this share of
# validation steps (the trainer measures it: `attention_accuracy` in the checkpoint; the shipped model 0.97),
# or on the word being drawn (`word_attention_accuracy`, where the data know words only).
FOLLOWS_TEXT_ACCURACY = 0.9
FOLLOWS_CHARACTERS, FOLLOWS_WORDS = "characters", "words"
# nats added to the pen lift's logit while a word-bank model writes a phrase's last letter (`lifting`)
LAST_LIFT_BIAS = 2.0
DOT_SIZE = 0.3  # a held stroke smaller than this that starts left of the word's right edge is its dot


def text_following(facts: dict) -> str:
    """What a trained model's attention can be trusted to follow, from its checkpoint's measured facts:
    FOLLOWS_CHARACTERS, FOLLOWS_WORDS, or "" (neither measured to FOLLOWS_TEXT_ACCURACY)."""
    if facts.get("attention_accuracy", 0.0) >= FOLLOWS_TEXT_ACCURACY:
        return FOLLOWS_CHARACTERS
    if facts.get("word_attention_accuracy", 0.0) >= FOLLOWS_TEXT_ACCURACY:
        return FOLLOWS_WORDS
    return ""


class AttentionTrack:
    """Per-step attention focus of a batch of phrases, and the end gate (`generate_steps(end_allowed=...)`).

    `last_index` (B,): each phrase's last character to attend before it may end, in the text the model
    reads (-1: no text, never gated); `last_char` (B,): its last character, where that is another one
    (the lift rule, `lifting`, of a model that follows words; None: `last_index` is the last character)."""

    def __init__(self, last_index: list[int], device: torch.device, last_char: list[int] | None = None):
        self.last_index = torch.tensor(last_index, device=device)
        self.on_last = torch.zeros(len(last_index), dtype=torch.long, device=device)
        self.last_char = None if last_char is None else torch.tensor(last_char, device=device)
        self.on_last_char = self.on_last if last_char is None else torch.zeros_like(self.on_last)
        self.focus: list[Tensor] = []  # per step (B,) the attended character

    def __call__(self, attention: Tensor) -> Tensor:  # (B, L) -> (B,) may end now
        focus = attention.argmax(-1)
        self.focus.append(focus)
        allowed = (self.on_last >= FINISH_STEPS) | (self.last_index < 0)
        self.on_last += focus >= self.last_index
        if self.last_char is not None:
            self.on_last_char += (focus >= self.last_char) & (self.last_char >= 0)
        return allowed

    def lifting(self, pick, pen_channel: int):
        """`pick` (a ChannelSampler) with the pen lift made likelier once a phrase's last letter is being
        written (FINISH_STEPS steps on its last character): its lift logit + LAST_LIFT_BIAS.

        For models of word-bank cursive (FOLLOWS_WORDS): a word is one stroke, and at the end of its last
        letter the bigbank fine-tune gives the lift about an even chance (0.45-0.49 at the end of 'space'),
        so a greedy pick goes on into the same letter again ('spaceee') and the end, which follows a lift,
        does not come. The bias (chosen on one draw of held-out words, measured on another: see README)
        takes that lift; a print model's last letters lift on their own, and it loses letters with it
        (Tesseract CER of the shipped model 0.020 -> 0.024), so it is not applied there."""

        def picked(logits: Tensor, c: int, chosen: list[Tensor]) -> Tensor:
            if c == pen_channel:
                rows = self.on_last_char >= FINISH_STEPS
                if bool(rows.any()):
                    logits = logits.clone()
                    logits[rows, 1] += LAST_LIFT_BIAS
            return pick(logits, c, chosen)

        return picked

    def row(self, i: int) -> np.ndarray:
        """(T,) the attended character of phrase i at every generated step."""
        if not self.focus:
            return np.zeros(0, dtype=np.int64)
        return torch.stack(self.focus, dim=1)[i].cpu().numpy()


def last_character(text: str, follows: str = FOLLOWS_CHARACTERS) -> int:
    """Index of the last non-blank character of `text` (FOLLOWS_WORDS: the first of its last word), -1 if
    it has none."""
    spans = word_spans(text)
    if not spans:
        return -1
    return spans[-1][0] if follows == FOLLOWS_WORDS else spans[-1][1]


class WordSpacer:
    """Streams decoded steps `(delta (2,), events (E,))` of one phrase, each with the character it attended,
    and yields them with every word after a blank kept `min_gap` right of the ink of the word before, as
    `(delta, events, crossed)`: crossed, the blanks before the word the step is of (`blank_words` turns it
    into the word of the text).

    `blanks`: the indices of the blanks in the text the model reads. A word begins with the first stroke whose
    first or second step attends a character past a blank the current word has not crossed (the blank itself
    counts as past: the pen travels to the next word while attending it). The first step is the pen-up travel
    to the stroke, and its attention may still lie on the character before (the shipped model's 'f' of 'the
    quick brown fox', seed 0, stayed with 'brown'), so it waits for the second (`pending`). Each word after
    the first is held back until the next one begins (or the phrase ends), so its whole extent is known, then
    released moved right by what the gap lacks. Generation runs far ahead of any pen, so holding a word costs
    the writer nothing it would see. A first stroke that is a dot of the word before (smaller than DOT_SIZE,
    left of its right edge) is let through as part of that word."""

    def __init__(self, blanks: list[int], min_gap: float):
        self.blanks = np.asarray(sorted(blanks), dtype=np.int64)
        self.min_gap = float(min_gap)
        self.x = self.y = 0.0  # pen position after the steps taken in, as written (shifts included)
        self.word = self.previous_word = 0  # blanks up to the current word, and up to the one before
        self.edge = -np.inf  # right edge of the ink of the words released so far
        self.stroke_starts = True  # the next step starts a stroke
        self.pending: tuple[np.ndarray, np.ndarray, int] | None = None  # a stroke's first step, waiting
        self.held: list[tuple[np.ndarray, np.ndarray]] = []  # the current word's steps, held
        self.held_xy: list[tuple[float, float]] = []  # the pen after each held step, unshifted
        self.held_strokes = 0  # strokes of the held word completed

    def add(
        self, delta: np.ndarray, events: np.ndarray, focus: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        step = (np.array(delta, dtype=np.float32), events, int(focus))
        if self.pending is not None:
            first, self.pending = self.pending, None
            if not first[1][0]:  # the stroke goes on: its first step attends the later of the two
                first = (first[0], first[1], max(first[2], step[2]))
            yield from self._take(*first)
        if self.stroke_starts:
            self.pending = step
        else:
            yield from self._take(*step)

    def flush(self) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """The end of the phrase: release the word still held."""
        if self.pending is not None:
            first, self.pending = self.pending, None
            yield from self._take(*first)
        yield from self._release()

    def _take(
        self, delta: np.ndarray, events: np.ndarray, focus: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        starts, self.stroke_starts = self.stroke_starts, bool(events[0])
        word = int(np.searchsorted(self.blanks, focus, side="right"))  # blanks up to the attended character
        if starts and word > self.word:  # a new word: the one held so far is complete
            yield from self._release()
            self.previous_word, self.word = self.word, word
        if self.word == 0:  # the first word goes straight out
            self._advance(delta)
            self.edge = max(self.edge, self.x)
            yield delta, events, 0
            return
        x0, y0 = self.held_xy[-1] if self.held_xy else (self.x, self.y)
        self.held.append((delta, events))
        self.held_xy.append((x0 + float(delta[0]), y0 + float(delta[1])))
        if self.stroke_starts:
            self.held_strokes += 1
            if self.held_strokes == 1 and self._held_is_a_dot():
                self.word = self.previous_word  # the next stroke may begin the word again
                yield from self._release(shift=False)

    def _held_is_a_dot(self) -> bool:
        xs, ys = zip(*self.held_xy, strict=True)
        return max(np.ptp(xs), np.ptp(ys)) < DOT_SIZE and min(xs) < self.edge

    def _advance(self, delta: np.ndarray) -> None:
        self.x += float(delta[0])
        self.y += float(delta[1])

    def _release(self, shift: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """The held word's steps, of word `self.word` (a dot is let through as the word before's)."""
        if not self.held:
            return
        xs = [x for x, _ in self.held_xy]
        move = max(0.0, self.edge + self.min_gap - min(xs)) if shift else 0.0
        held, self.held, self.held_xy, self.held_strokes = self.held, [], [], 0
        held[0][0][0] += move  # the pen-up travel into the word
        for delta, _ in held:
            self._advance(delta)
        self.edge = max(self.edge, max(xs) + move)
        for delta, events in held:
            yield delta, events, self.word


def space_words(sample: Sample, focus: np.ndarray, blanks: list[int], min_gap: float) -> Sample:
    """`WordSpacer` over a whole written sample (what streaming yields, step for step), with the word of
    each point (`word_index`) the spacer decided."""
    spacer = WordSpacer(blanks, min_gap)
    steps = [
        s for d, e, f in zip(sample.deltas, sample.events, focus, strict=True) for s in spacer.add(d, e, f)
    ]
    steps += list(spacer.flush())
    if not steps:
        return sample
    deltas = np.stack([d for d, _, _ in steps]).astype(sample.deltas.dtype)
    words = blank_words(sample.text)[[crossed for _, _, crossed in steps]]
    return Sample(
        deltas,
        sample.events,
        text=sample.text,
        style_id=sample.style_id,
        word_index=words.astype(np.int32),
        state=sample.state,
    )


def blank_words(text: str) -> np.ndarray:
    """(blanks + 1,) int: for each count of `text`'s blanks crossed (`WordSpacer`), the word (by blanks,
    `word_spans`) the steps past them are of."""
    ends = [last for _, last in word_spans(text)]
    crossed = [0] + [sum(end < i for end in ends) for i, ch in enumerate(text) if ch == " "]
    return np.minimum(crossed, max(len(ends) - 1, 0))


def word_gaps(sample: Sample) -> list[float]:
    """The horizontal gap (handwriting units) between the ink of the words before and after each blank of a
    sample that knows which word each point is of (`word_index`, or from `char_index`): left edge of the
    next word minus right edge of the one before."""
    words = point_words(sample)
    if words is None or not len(sample):
        return []
    x = np.cumsum(sample.deltas[:, 0])
    gaps = []
    for k in range(len(sample.text.split()) - 1):
        before, after = words == k, words == k + 1
        if before.any() and after.any():
            gaps.append(float(x[after].min() - x[before].max()))
    return gaps


def point_words(sample: Sample) -> np.ndarray | None:
    """(T,) the word (by blanks) of the sample's text each point is of, -1 where unknown; None when the
    sample knows neither its words nor its characters."""
    if sample.word_index is not None:
        return np.asarray(sample.word_index)
    if sample.char_index is None:
        return None
    starts = [first for first, _ in word_spans(sample.text)]
    word_of_char = np.searchsorted(starts, np.arange(len(sample.text)), side="right") - 1
    word_of_char[[ch.isspace() for ch in sample.text]] = -1  # a point on a blank is of no word
    known = sample.char_index >= 0
    return np.where(known, word_of_char[np.where(known, sample.char_index, 0)], -1)


def word_spans(text: str) -> list[tuple[int, int]]:
    """(first, last) character index of each word (by blanks) of `text`."""
    return [(m.start(), m.end() - 1) for m in re.finditer(r"\S+", text)]
