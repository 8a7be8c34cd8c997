"""The on-disk SampleSet cache: a second identical request is served from disk; any change rebuilds."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import trajtok.data.cursive_json
import trajtok.data.hershey
from trajtok.data import cache, load_source

FIXTURES = Path(__file__).parent / "fixtures" / "handwriting"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def forbid(monkeypatch, module):
    """Make building from the source impossible, so only the cache can answer."""

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(module, "load", refuse)


def test_second_load_comes_from_the_cache_unchanged(private_cache, monkeypatch):
    built = load_source("hershey", split="val", n=6, seed=3)
    assert len(list(private_cache.glob("samples-*.npz"))) == 1
    forbid(monkeypatch, trajtok.data.hershey)
    cached = load_source("hershey", split="val", n=6, seed=3)
    assert cached.source == built.source and cached.dim_names == built.dim_names
    for a, b in zip(built, cached, strict=True):
        assert a.text == b.text and a.style_id == b.style_id
        assert np.array_equal(a.deltas, b.deltas) and a.deltas.dtype == b.deltas.dtype
        assert np.array_equal(a.events, b.events) and b.events.dtype == bool
        assert np.array_equal(a.char_index, b.char_index)
    with pytest.raises(AssertionError, match="rebuilt"):  # another request is a miss
        load_source("hershey", split="val", n=6, seed=4)


def test_drop_and_unknown_counts_and_missing_fields_survive_the_cache(monkeypatch, cursive_bank):
    path = cursive_bank / "words.json.zip"
    built = load_source(path, split="all")
    forbid(monkeypatch, trajtok.data.cursive_json)
    cached = load_source(path, split="all")
    assert cached.dropped == built.dropped == {"empty": 1, "huge_jump": 1}
    assert cached.unknown_chars == {"é": 1}
    assert [s.text for s in cached] == [s.text for s in built]
    assert [s.style_id for s in cached] == [s.style_id for s in built] == [0] * 6  # the fixture's one author
    assert all(s.char_index is None and s.state is None for s in cached)


def test_a_changed_file_or_option_is_rebuilt(tmp_path, cursive_bank):
    path = tmp_path / "words.json.zip"
    shutil.copy(cursive_bank / "words.json.zip", path)
    assert len(load_source(path, split="all")) == 6
    assert (
        load_source(path, split="all", max_jump=0.5).dropped["huge_jump"] > 1
    )  # an option is part of the key
    shutil.copy(FIXTURES / "stroke3" / "doodles.npz", path)  # same name, different content
    os.utime(path, ns=(1, 1))
    with pytest.raises(Exception, match="words.json.zip"):
        load_source(path, split="all")


def test_a_corrupt_cache_entry_is_rebuilt(private_cache):
    first = load_source("hershey", split="train", n=3)
    for corrupt in (b"not an npz", None):  # garbage, then a cut-off archive (a zip's start, no directory)
        for entry in private_cache.glob("samples-*.npz"):
            entry.write_bytes(corrupt or entry.read_bytes()[:200])
        again = load_source("hershey", split="train", n=3)
        assert [s.text for s in again] == [s.text for s in first]


def test_cache_files_hold_no_pickles(private_cache):
    load_source("hershey", split="train", n=3)
    (entry,) = private_cache.glob("samples-*.npz")
    with np.load(entry, allow_pickle=False) as data:  # would raise on any object array
        assert {"deltas", "events", "texts", "lengths"} <= set(data.files)
    assert cache.cache_dir() == private_cache
