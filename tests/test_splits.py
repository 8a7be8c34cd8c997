"""Train / val / test membership (trajtok.data.splits): a stable hash of each record's key, and a small
pool still gives training a validation record."""

import json
from collections import Counter

from cursive_bank import cursive_record

from trajtok.data import load_source
from trajtok.data.splits import select, split_names, split_of

FEW = [f"me.json:{i}" for i in range(12)]  # a folder's file of 12: the hash gives val none of them


def test_a_large_pool_is_split_by_the_hash_alone():
    keys = [f"episode {i}" for i in range(2000)]
    assert split_names(keys) == [split_of(k) for k in keys]
    counts = Counter(split_names(keys))
    assert 0.85 < counts["train"] / 2000 < 0.95 and counts["val"] > 50 and counts["test"] > 50


def test_a_small_pool_gives_one_train_record_to_validation():
    assert "val" not in {split_of(k) for k in FEW}  # what the pool would give by the hash
    names = split_names(FEW)
    assert names.count("val") == 1 and names == split_names(list(FEW))  # deterministic
    moved = names.index("val")
    assert moved == [split_of(k) for k in FEW].index("train")  # the first train record
    assert split_names([*FEW, "me.json:12", "me.json:13"]).index("val") == moved  # appended: it stays
    assert [i for i, n in enumerate(names) if n != "val"] == [i for i in range(12) if i != moved]
    parts = [select(FEW, split, None, 0) for split in ("train", "val", "test")]
    assert sorted(sum(parts, [])) == list(range(12)) and parts[1] == [moved]
    assert split_names(FEW[:1]) == ["train"] and select(FEW[:1], "val", None, 0) == []  # one: stays


def test_a_users_few_words_train_with_validation(tmp_path, cli):
    """12 words drawn in the studio: training stopped at 'gave no val samples'."""
    words = [f"w{letter}" for letter in "abcdefghijkl"]  # 12 distinct words
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "me.json").write_text(
        json.dumps([cursive_record(w, 0, i) for i, w in enumerate(words)])
    )
    source = str(tmp_path / "mine")
    train, val = (load_source(source, split=s, use_cache=False) for s in ("train", "val"))
    assert (len(train), len(val)) == (11, 1) and val[0].text not in {s.text for s in train.samples}
    result = cli("data", "stats", source, "--split", "val")
    assert "samples       1 in the val split" in result.out


def test_one_word_is_refused_saying_what_training_needs(tmp_path, cli):
    path = tmp_path / "one.json"
    path.write_text(json.dumps([cursive_record("apple", 0, 0)]))
    result = cli("train", "handwriting", f"data.source={path}", "--run-dir", tmp_path / "run")
    result.user_error("gave no val samples; training needs 2 samples or more, one held out to validate on")
