"""CharTokenizer: vocabulary layout, round trips, normalization, truncation and [UNK] counting."""

import string

import numpy as np
import pytest

from trajtok.text import DEFAULT_CHARS, UNK_DISPLAY, CharTokenizer, counted, normalize_text, wrap_text


def test_vocabulary_layout():
    tok = CharTokenizer()
    assert (tok.pad_id, tok.unk_id) == (0, 1)
    assert tok.vocab_size == 2 + 1 + 26 + 26 + 10 + len(string.punctuation)
    ids, _ = tok.encode(DEFAULT_CHARS)
    assert sorted(ids.tolist()) == list(range(2, tok.vocab_size))  # every character has its own id


def test_round_trip_of_every_supported_character():
    tok = CharTokenizer()
    text = "Hello, World! 0123456789 " + string.punctuation
    ids, truncated = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert not truncated
    assert tok.decode(ids) == text


def test_typographic_characters_are_normalized():
    assert normalize_text("\u201cso\u201d \u2018it\u2019s\u2019 \u2013 a\u00a0b \u2014 wait\u2026") == (
        "\"so\" 'it's' - a b - wait..."
    )
    tok = CharTokenizer()
    assert tok.decode(tok.encode("don\u2019t")[0]) == "don't"


def test_truncation_is_reported():
    tok = CharTokenizer()
    ids, truncated = tok.encode("abcdef", max_len=4)
    assert truncated and tok.decode(ids) == "abcd"
    ids, truncated = tok.encode("abcd", max_len=4)
    assert not truncated and len(ids) == 4


def test_unknown_characters_map_to_unk_and_are_counted():
    tok = CharTokenizer()
    ids, _ = tok.encode("na\u00efve \u00fcber")
    assert ids[2] == tok.unk_id and ids[6] == tok.unk_id
    assert (ids == tok.unk_id).sum() == 2
    assert tok.count_unknown(["na\u00efve", "\u00fcber \u00fc", "plain"]) == {"\u00ef": 1, "\u00fc": 2}
    decoded = tok.decode(ids)
    assert decoded == f"na{UNK_DISPLAY}ve {UNK_DISPLAY}ber"
    assert (tok.encode(decoded)[0] == ids).all()  # the display character encodes back to [UNK]


def test_the_alphabet_problem_names_each_unknown_character_once():
    tok = CharTokenizer()
    assert tok.alphabet_problem("plain text, 42!") is None
    assert tok.alphabet_problem("\u201cquoted\u201d \u2014 fine\u2026") is None  # normalized, not unknown
    problem = tok.alphabet_problem("\u00fcber na\u00efve \u00fc")
    assert problem is not None and "('\u00ef\u00fc')" in problem and "printable ASCII" in problem


def test_batch_encoding_pads_and_masks():
    tok = CharTokenizer()
    ids, pad_mask, truncated = tok.encode_batch(["ab", "abcd", "abcdefg"], max_len=5)
    assert ids.shape == (3, 5)
    assert pad_mask.tolist()[0] == [False, False, True, True, True]
    assert (ids[pad_mask] == tok.pad_id).all()
    assert truncated.tolist() == [False, False, True]
    assert tok.decode(ids[0]) == "ab"  # padding is skipped


def test_serialization_round_trip_and_checks():
    tok = CharTokenizer()
    again = CharTokenizer.from_dict(tok.to_dict())
    assert again == tok and again.vocab_size == tok.vocab_size
    with pytest.raises(ValueError, match="CharTokenizer"):
        CharTokenizer.from_dict({"type": "CharTokenizer", "version": 99, "chars": "ab"})
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="duplicates"):
        CharTokenizer("aa")


def test_wrap_text_cuts_at_blanks_and_keeps_long_words_whole():
    assert wrap_text("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]
    assert wrap_text("hello world", 11) == ["hello world"]
    assert wrap_text("hello world", None) == ["hello world"]
    assert wrap_text("extraordinary day", 5) == ["extraordinary", "day"]
    assert wrap_text("", 5) == [""]


def test_counted_writes_a_count_as_a_person_does():
    assert [counted(n, "sample") for n in (0, 1, 2, 3500)] == [
        "0 samples",
        "1 sample",
        "2 samples",
        "3,500 samples",
    ]
