"""Cursive-transformer JSON (Greydanus & Wimpee 2025): a zip holding one JSON list (or the bare .json) of

    {"metadata": {"asciiSequence": str, "aspectRatio": float, "author": str, ...},
     "points": [[x, y, is_pen_down], ...]}

x, y in [0, 1] page units with y growing downwards; x times aspectRatio gives equal scale; is_pen_down = 0 on
the last point of each stroke (the pen travels up from there to the next point). Each author is one writer:
its samples share one scale and a style_id, the author's index among the file's authors in sorted order (a
record without an author has none). A folder of such files (the studio's dataset: one file a writer) is read
as one source, its authors numbered across all its files.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trajtok.data.normalize import LIMIT_OPTIONS, Limits, SampleSetBuilder
from trajtok.data.splits import select
from trajtok.errors import DataError
from trajtok.sample import SampleSet
from trajtok.strokes import split_strokes

OPTIONS = LIMIT_OPTIONS
SUFFIXES = (".json", ".json.zip")


def json_files(folder: Path) -> list[Path]:
    """The CT files directly in `folder` (.json, .json.zip; not hidden ones, such as the studio's temporary
    files): a folder of them, e.g. the studio's dataset with one file a writer, is one source."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES) and p.name[0] != "."
    )


def looks_like_records(path: Path) -> bool:
    """Whether a .json / .json.zip file opens as a list of CT records does (a look at its start only)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return any(m.endswith(".json") for m in archive.namelist())
        with open(path, "rb") as f:
            head = f.read(4096)
    except (OSError, zipfile.BadZipFile):
        return False
    return head.lstrip().startswith(b"[") and (b'"points"' in head or b'"asciiSequence"' in head)


def read_records(path: str | Path) -> list:
    """The JSON list inside `path` (.zip or .json); DataError when it is not one."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.endswith(".json") and "__MACOSX" not in m]
                if len(members) != 1:
                    raise DataError(f"{path}: expected exactly one .json file in the zip, found {members}")
                raw = archive.read(members[0])
        elif path.suffix.lower() == ".zip":
            raise DataError(f"{path}: not a readable zip archive (truncated or not a zip)")
        else:
            raw = path.read_bytes()
        records = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not valid cursive-transformer JSON ({exc})") from exc
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a JSON list of records, got {type(records).__name__}")
    return records


def record_strokes(record: object, where: str) -> tuple[list[np.ndarray], str, str | None]:
    """One record -> (strokes: list of (N, 2) with y up in aspect-corrected page units, text, author)."""
    try:
        meta = record["metadata"]
        text = meta["asciiSequence"]
        aspect = float(meta.get("aspectRatio", 1.0))
        author = None if meta.get("author") is None else str(meta["author"])
        points = np.asarray(record["points"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{where}: malformed record ({type(exc).__name__}: {exc}); expected metadata.asciiSequence "
            "and points [[x, y, is_pen_down], ...]"
        ) from exc
    if not isinstance(text, str):
        raise DataError(f"{where}: malformed record: metadata.asciiSequence must be a string")
    if points.size == 0:
        return [], text, author
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataError(
            f"{where}: malformed record: points must be [[x, y, is_pen_down], ...], got shape {points.shape}"
        )
    absolute = np.stack([points[:, 0] * aspect, -points[:, 1], points[:, 2] == 0], axis=1)
    absolute[-1, 2] = 1.0
    return split_strokes(absolute), text, author


def _author(record: object) -> str | None:
    """The record's author, None when it names none (or is malformed: record_strokes says how)."""
    try:
        author = record["metadata"].get("author")
    except (KeyError, TypeError, AttributeError):
        return None
    return None if author is None else str(author)


def load(
    path: str | Path,
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
) -> SampleSet:
    path = Path(path)
    files = json_files(path) if path.is_dir() else [path]
    records, keys, wheres = [], [], []
    for file in files:
        for i, record in enumerate(read_records(file)):
            records.append(record)
            keys.append(
                f"{file.name}:{i}" if path.is_dir() else str(i)
            )  # a file added leaves the rest's split
            wheres.append(f"{file}: record {i}")
    chosen = select(keys, split, n, seed)
    builder = SampleSetBuilder(source or str(path), limits)
    writers = {author: k for k, author in enumerate(sorted({_author(r) for r in records} - {None}))}
    for done, i in enumerate(chosen, 1):
        strokes, text, author = record_strokes(records[i], wheres[i])
        builder.add_strokes(strokes, text, writers.get(author), group=author)  # one writer, one scale
        if progress and (done % 256 == 0 or done == len(chosen)):
            progress(done, len(chosen))
    return builder.build()
