"""Character-level text tokenizer for the handwriting model's encoder.

Vocabulary: [PAD]=0, [UNK]=1, space, a-z, A-Z, 0-9, ASCII punctuation. Typographic characters people paste
in (smart quotes, dashes, odd spaces, the ellipsis) are normalized to their ASCII forms first; anything
else maps to [UNK] and can be counted with `count_unknown`.
"""

from __future__ import annotations

import string
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK = "[PAD]", "[UNK]"
TEXT_TOKENIZER_VERSION = 1
DEFAULT_CHARS = " " + string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation
UNK_DISPLAY = "\ufffd"  # what decode writes for [UNK]; encodes back to [UNK]

_NORMALIZE = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad", "-"),
        **dict.fromkeys("\u00a0\u2007\u202f\u2009\u200a\t\n\r\f\v", " "),
        "\u2026": "...",
    }
)


def wrap_text(text: str, width: int | None) -> list[str]:
    """`text` cut at blanks into lines of at most `width` characters (a word longer than that stays whole);
    [text] when it fits or `width` is None."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, max(width, 1), break_long_words=False, break_on_hyphens=False) or [text]


def counted(n: int, noun: str) -> str:
    """'1 sample', '2 samples': a count and its noun, as a person writes them."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def normalize_text(text: str) -> str:
    """Fold typographic quotes, dashes, odd spaces and the ellipsis into plain ASCII."""
    return text.translate(_NORMALIZE)


class CharTokenizer:
    """Maps text to int64 ids and back; ids 0 and 1 are [PAD] and [UNK]."""

    def __init__(self, chars: str = DEFAULT_CHARS):
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer: the character list has duplicates")
        self.chars = chars
        self.pad_id, self.unk_id = 0, 1
        self._id_of = {c: i + 2 for i, c in enumerate(chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 2

    def __contains__(self, char: str) -> bool:
        return char in self._id_of

    def encode(self, text: str, max_len: int | None = None) -> tuple[np.ndarray, bool]:
        """text -> (ids (L,) int64, truncated); L <= max_len when given."""
        text = normalize_text(text)
        truncated = max_len is not None and len(text) > max_len
        if truncated:
            text = text[:max_len]
        ids = np.fromiter((self._id_of.get(c, self.unk_id) for c in text), dtype=np.int64, count=len(text))
        return ids, truncated

    def encode_batch(
        self, texts: Iterable[str], max_len: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """texts -> (ids (B, L) int64 padded with [PAD], pad_mask (B, L) True=pad, truncated (B,) bool)."""
        encoded = [self.encode(t, max_len) for t in texts]
        width = max([len(ids) for ids, _ in encoded] + [1])
        ids = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        for row, (row_ids, _) in enumerate(encoded):
            ids[row, : len(row_ids)] = row_ids
        truncated = np.array([t for _, t in encoded], dtype=bool)
        return ids, ids == self.pad_id, truncated

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids (L,) -> text; [PAD] is skipped, [UNK] becomes U+FFFD."""
        out = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == self.pad_id:
                continue
            if i == self.unk_id:
                out.append(UNK_DISPLAY)
            elif 2 <= i < self.vocab_size:
                out.append(self.chars[i - 2])
            else:
                raise ValueError(
                    f"CharTokenizer.decode: id {i} is outside the vocabulary (size {self.vocab_size})"
                )
        return "".join(out)

    def alphabet_problem(self, text: str) -> str | None:
        """Why `text` cannot be written or read exactly (characters that would become [UNK]), or None."""
        unknown = "".join(sorted(set(normalize_text(text)) - self._id_of.keys()))
        if not unknown:
            return None
        return (
            f"text {text!r} has characters outside this model's alphabet ({unknown!r}): write printable ASCII"
        )

    def count_unknown(self, texts: Iterable[str]) -> dict[str, int]:
        """Characters (after normalization) that would become [UNK], with their counts."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(c for c in normalize_text(text) if c not in self._id_of)
        return dict(counts)

    def to_dict(self) -> dict:
        return {"type": "CharTokenizer", "version": TEXT_TOKENIZER_VERSION, "chars": self.chars}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if data.get("type") != "CharTokenizer" or data.get("version") != TEXT_TOKENIZER_VERSION:
            raise ValueError(
                f"not a CharTokenizer v{TEXT_TOKENIZER_VERSION} dict (type={data.get('type')!r}, "
                f"version={data.get('version')!r})"
            )
        return cls(data["chars"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
