"""What the synthetic corpus writes: words and phrases shipped in trajtok/assets, random letter strings,
numbers and punctuation (so every character of the text tokenizer is seen); train and validation disjoint.

Validation owns a held-out vocabulary: the longer words of VALIDATION_PHRASES plus a fixed hashed slice of the
word list. A training text never contains a held-out word (as a whole token, any case) nor equals a
validation phrase, so validation measures writing unseen words.
"""

from __future__ import annotations

import re
import string
import zlib
from functools import lru_cache
from importlib import resources

import numpy as np

from trajtok.data.splits import canonical_split

# Fixed evaluation phrases (legibility, demos). Never written in training.
VALIDATION_PHRASES: tuple[str, ...] = (
    "hello world",
    "quiet river stones",
    "bright yellow kite",
    "seven brave foxes",
    "jazz at midnight",
    "fresh mint leaves",
    "paint the fence",
    "zebra crossing",
    "warm winter socks",
    "salty ocean breeze",
    "hidden garden path",
    "violet evening sky",
    "Maple syrup",
    "Quick notes",
    "Lucky number 7",
    "Wednesday at 9:15",
)
HELD_OUT_MIN_LEN = 4  # shorter words (the, and, at...) are too common to hold out
LINE_CHARS = (14, 20)  # the lengths the corpus's "line" texts are drawn to fill (covered_text_length: 20)
LINE_WORD_TRIES = 30  # words drawn to fill a line: most lines end within a character or two of their length
HELD_OUT_PERCENT = 8  # share of the word list held out besides the validation phrases' words
_TOKEN = re.compile(r"[A-Za-z]+")
_PUNCTUATED = (
    "{w},", "{w}.", "{w}!", "{w}?", "{w};", "{w}:", "({w})", '"{w}"', "'{w}'", "{w}'s", "{w}-{v}", "{w}/{v}",
    "[{w}]", "{w}...", "#{w}", "@{w}", "{w} & {v}", "*{w}*", "{w}_{v}", "<{w}>", "{w}={v}", "{w}+{v}", "~{w}",
    "^{w}", "{w}|{v}", "{w}\\{v}", "`{w}`", "{w}%", "${w}", "{{{w}}}",
)  # fmt: skip


def _asset_lines(name: str) -> list[str]:
    text = resources.files("trajtok").joinpath("assets", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def tokens(text: str) -> list[str]:
    """Lower-cased alphabetic words of a text."""
    return [t.lower() for t in _TOKEN.findall(text)]


@lru_cache(maxsize=1)
def held_out_words() -> frozenset[str]:
    words = {t for phrase in VALIDATION_PHRASES for t in tokens(phrase) if len(t) >= HELD_OUT_MIN_LEN}
    words |= {
        w
        for w in _asset_lines("words.txt")
        if len(w) >= HELD_OUT_MIN_LEN and zlib.crc32(w.encode()) % 100 < HELD_OUT_PERCENT
    }
    return frozenset(words)


def is_training_text(text: str) -> bool:
    held = held_out_words()
    lowered = text.lower()
    return not any(t in held for t in tokens(text)) and all(lowered != p.lower() for p in VALIDATION_PHRASES)


def _cased(word: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    return word.upper() if roll < 0.1 else word.capitalize() if roll < 0.35 else word


class TextSampler:
    """Draws one text per call for split "train" or "val", at most `max_chars` long."""

    def __init__(self, split: str = "train", max_chars: int = 24):
        self.split = canonical_split(split)
        if self.split not in ("train", "val"):
            raise ValueError(f"texts come in splits train and val, not {split!r}")
        self.max_chars = max_chars
        held = held_out_words()
        words = _asset_lines("words.txt")
        if self.split == "train":
            self.words = [w for w in words if w not in held]
            self.phrases = [p for p in _asset_lines("phrases.txt") if is_training_text(p)]
        else:
            self.words = sorted(held)
            self.phrases = list(VALIDATION_PHRASES)

    def _word(self, rng: np.random.Generator) -> str:
        return self.words[int(rng.integers(len(self.words)))]

    def _draw(self, rng: np.random.Generator) -> str:
        kinds = ("word", "words", "phrase", "punctuated", "letters", "number", "symbols", "line")
        weights = (
            (0.22, 0.13, 0.1, 0.11, 0.08, 0.08, 0.08, 0.2)
            if self.split == "train"
            else (0.4, 0.25, 0.25, 0.1, 0, 0, 0, 0)
        )
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        if kind == "word":
            return _cased(self._word(rng), rng)
        if kind == "words":
            return " ".join(_cased(self._word(rng), rng) for _ in range(int(rng.integers(2, 4))))
        if kind == "phrase":
            return self.phrases[int(rng.integers(len(self.phrases)))]
        if kind == "punctuated":
            pattern = _PUNCTUATED[int(rng.integers(len(_PUNCTUATED)))]
            return pattern.format(w=_cased(self._word(rng), rng), v=self._word(rng))
        if kind == "letters":
            alphabet = string.ascii_lowercase if rng.random() < 0.7 else string.ascii_letters
            return "".join(rng.choice(list(alphabet), size=int(rng.integers(2, 9))))
        if kind == "number":
            return _number(rng)
        if kind == "line":
            return self._line(rng)
        printable = string.ascii_letters + string.digits + string.punctuation
        return "".join(rng.choice(list(printable), size=int(rng.integers(1, 7))))

    def _line(self, rng: np.random.Generator) -> str:
        """Words of a line as long as the lines a model is asked to write (LINE_CHARS): without them the
        text positions near a line's end are seldom trained, and a model blurs the last letters there."""
        target = int(rng.integers(LINE_CHARS[0], LINE_CHARS[1] + 1))
        line = _cased(self._word(rng), rng)
        for _ in range(LINE_WORD_TRIES):
            room = target - len(line) - 1
            if room < 1:
                break
            word = _cased(self._word(rng), rng)
            if len(word) <= room:
                line = f"{line} {word}"
        return line

    def sample(self, rng: np.random.Generator) -> str:
        for _ in range(100):
            text = self._draw(rng)
            if len(text) <= self.max_chars and (self.split != "train" or is_training_text(text)):
                return text
        return self._word(rng)[: self.max_chars]


def held_out_phrases(n: int, seed: int, max_chars: int = 24) -> list[str]:
    """`n` distinct random texts of held-out words (the validation vocabulary, which no training text holds),
    none of them a VALIDATION_PHRASE: text the model never saw, fresh for each seed."""
    sampler, rng = TextSampler("val", max_chars=max_chars), np.random.default_rng(seed)
    phrases: list[str] = []
    while len(phrases) < n:
        text = sampler.sample(rng)
        if text not in phrases and text not in VALIDATION_PHRASES:
            phrases.append(text)
    return phrases


def held_out_lines(length: int, n: int, rng: np.random.Generator, min_words: int = 1) -> list[str]:
    """`n` lines of exactly `length` characters, of at least `min_words` held-out words (lower case) joined
    by blanks: text no training sample holds, as long as asked (the benches of line length and line ends)."""
    words = sorted(w.lower() for w in held_out_words())
    lines: list[str] = []
    while len(lines) < n:
        line = ""
        for _ in range(200):
            word = words[int(rng.integers(len(words)))]
            longer = f"{line} {word}" if line else word
            if len(longer) <= length:
                line = longer
            if len(line) == length:
                if len(line.split()) >= min_words:
                    lines.append(line)
                break
    return lines


def _number(rng: np.random.Generator) -> str:
    def digits(k: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, size=k))

    forms = (
        lambda: str(int(rng.integers(0, 10 ** int(rng.integers(1, 7))))),
        lambda: f"{int(rng.integers(0, 100))}.{digits(int(rng.integers(1, 3)))}",
        lambda: f"{int(rng.integers(1, 100))},{digits(3)}",
        lambda: f"{int(rng.integers(1, 13))}:{digits(2)}",
        lambda: f"${int(rng.integers(1, 1000))}",
        lambda: f"{int(rng.integers(1, 101))}%",
        lambda: f"{digits(3)}-{digits(4)}",
        lambda: f"{int(rng.integers(1, 32))}/{int(rng.integers(1, 13))}",
    )
    return forms[int(rng.integers(len(forms)))]()


COVERED_PERCENTILE = 99.5  # of the training texts' lengths: as long a line as the corpus teaches
COVERED_DRAWS = 4000


@lru_cache
def covered_text_length(max_chars: int) -> int:
    """The longest line the synthetic training stream teaches: the 99.5th percentile of its texts' lengths
    (`max_chars` only caps them; the sampler favours short texts). Past it a model trained on the stream
    fails: the shipped model (max_chars 24, covered 20) ends every line of held-out words up to 20 characters
    and runs to its step limit on 2 of 12 of 22, 3 of 23 and 12 of 24 (bench/line_length.py)."""
    texts = TextSampler("train", max_chars)
    lengths = [len(texts.sample(np.random.default_rng([0, 0, i]))) for i in range(COVERED_DRAWS)]
    return int(np.percentile(lengths, COVERED_PERCENTILE))
