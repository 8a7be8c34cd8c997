"""On-disk cache of preprocessed SampleSets as pickle-free .npz, keyed by source, options and code version.

Location: $TRAJTOK_CACHE, else ~/.cache/trajtok. The key hashes the request, the input files' sizes and
modification times, and the source code of trajtok/data and trajtok/text.py, so editing a loader invalidates
what it produced.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from trajtok.sample import SampleSet

CACHE_FORMAT = 1


def cache_dir() -> Path:
    return Path(os.environ.get("TRAJTOK_CACHE") or Path.home() / ".cache" / "trajtok")


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the code that turns raw data into samples."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("*.py"), package.parent / "text.py", package.parent / "sample.py"]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def files_fingerprint(path: Path) -> list:
    """(relative name, size, mtime) of a file or of every file under a directory."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [
        [str(p.relative_to(path)) if p != path else p.name, p.stat().st_size, p.stat().st_mtime_ns]
        for p in files
    ]


def cache_key(request: dict) -> str:
    blob = json.dumps(
        {**request, "code": code_version(), "format": CACHE_FORMAT}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _path(key: str) -> Path:
    return cache_dir() / f"samples-{key}.npz"


def save(key: str, sample_set: SampleSet) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a half-written cache entry."""
    samples = sample_set.samples
    n_dims, n_events = len(sample_set.dim_names), len(sample_set.event_names)
    lengths = np.array([len(s) for s in samples], dtype=np.int64)
    has_char_index = np.array([s.char_index is not None for s in samples], dtype=bool)
    states = [s.state for s in samples if s.state is not None]
    arrays = {
        "lengths": lengths,
        "deltas": np.concatenate([s.deltas for s in samples] + [np.zeros((0, n_dims), np.float32)]),
        "events": np.concatenate([s.events for s in samples] + [np.zeros((0, n_events), bool)]),
        "texts": np.array([s.text for s in samples], dtype=str),
        "style_ids": np.array([-1 if s.style_id is None else s.style_id for s in samples], dtype=np.int64),
        "has_char_index": has_char_index,
        "char_index": np.concatenate(
            [s.char_index for s in samples if s.char_index is not None] + [np.zeros(0, np.int32)]
        ).astype(np.int32),
        "has_state": np.array([s.state is not None for s in samples], dtype=bool),
        "states": np.stack(states).astype(np.float32) if states else np.zeros((0, 0), np.float32),
        "meta": np.array(
            json.dumps(
                {
                    "dim_names": sample_set.dim_names,
                    "event_names": sample_set.event_names,
                    "source": sample_set.source,
                    "dropped": sample_set.dropped,
                    "unknown_chars": sample_set.unknown_chars,
                    "mapping": sample_set.mapping,
                }
            )
        ),
    }
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load(key: str) -> SampleSet | None:
    """The cached SampleSet for `key`, or None when there is none (or it is unreadable)."""
    from trajtok.sample import Sample

    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    meta = json.loads(str(arrays["meta"]))
    bounds = np.concatenate([[0], np.cumsum(arrays["lengths"])])
    char_rows = np.cumsum(np.where(arrays["has_char_index"], arrays["lengths"], 0))
    char_starts = char_rows - np.where(arrays["has_char_index"], arrays["lengths"], 0)
    state_rows = np.cumsum(arrays["has_state"]) - 1
    samples = []
    for i, text in enumerate(arrays["texts"].tolist()):
        a, b = bounds[i], bounds[i + 1]
        style = int(arrays["style_ids"][i])
        samples.append(
            Sample(
                deltas=arrays["deltas"][a:b],
                events=arrays["events"][a:b],
                text=text,
                style_id=None if style < 0 else style,
                char_index=arrays["char_index"][char_starts[i] : char_rows[i]]
                if arrays["has_char_index"][i]
                else None,
                state=arrays["states"][state_rows[i]] if arrays["has_state"][i] else None,
            )
        )
    return SampleSet(
        samples=samples,
        dim_names=tuple(meta["dim_names"]),
        event_names=tuple(meta["event_names"]),
        source=meta["source"],
        dropped=meta["dropped"],
        unknown_chars=meta["unknown_chars"],
        mapping=meta["mapping"],
    )
