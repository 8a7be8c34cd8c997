"""Files of handwriting to read back, record by record: what `trajtok recognize FILE...` takes.

    .npz written by `trajtok write`   `points_<i>` (one phrase each, absolute [x, y, pen_lift] in x-heights)
                                       and `texts` (and `words_<i>`, not read here); else the whole page
                                       `points`; optionally the hand that
                                       wrote them: `writer` (one name for the file) or `writers` (one each)
    .npz stroke-3 (sketch-rnn)        arrays train / valid / test of (N, 3) [dx, dy, pen_lift] (read
                                       with pickle: trusted files only)
    .json / .json.zip                 cursive-transformer records (metadata.asciiSequence, points)
    .xml                              one IAM-OnDB lineStrokes file

Real-data records are brought to handwriting units by the loaders' own normalization (trajtok.data.normalize),
which is what the recognizer was trained on: a record's transcription, when the file holds one, helps set its
x-height (shared by all the records of one author); records without text are scaled by their ink alone.
Each record carries the writer its file declares (cursive-transformer metadata.author, the .npz `writer` or
`writers` array), None where the file declares none.
Every record comes back, readable or not: an unreadable one carries the reason (ink_features.check_ink)
instead of a sample, so a caller can name it and go on with the others.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.data import cursive_json, iam_ondb, stroke3
from trajtok.data.normalize import Limits, SampleSetBuilder
from trajtok.errors import DataError
from trajtok.ink_features import MAX_POINTS, check_ink
from trajtok.sample import Sample
from trajtok.strokes import differentiate, join_strokes

FORMATS = (
    ".npz (trajtok write, stroke-3), .json / .json.zip (cursive-transformer), .xml (IAM-OnDB lineStrokes)"
)


@dataclass
class InkRecord:
    name: str  # "FILE" or "FILE: <record>"
    sample: Sample | None  # None when unreadable
    problem: str | None = None  # why it cannot be read
    truth: str | None = None  # the text the file says was written, if it says
    writer: str | None = None  # the hand the file says wrote it, if it says


def save_written(
    file,
    page: np.ndarray,
    phrases: list[np.ndarray],
    texts: list[str],
    words: list[np.ndarray | None] | None = None,
) -> None:
    """The .npz `trajtok write` saves (and `_read_written` reads): `points` the page (T, 3), `points_<i>`
    each phrase at its own origin, `texts` the phrases, and `words_<i>` the word of the phrase each of its
    points is of, where the writer declared it (`Sample.word_index`; for the board, `trajtok sim write
    --strokes`). `file`: a path or a binary file object."""
    arrays = {f"points_{i}": p for i, p in enumerate(phrases)}
    arrays |= {f"words_{i}": w for i, w in enumerate(words or []) if w is not None}
    np.savez(file, points=page, texts=np.array(texts), **arrays)


def read_ink_file(path: str | Path) -> list[InkRecord]:
    """Every record of one file, in file order; DataError when the file itself cannot be read."""
    path = Path(path)
    if not path.is_file():
        problem = "a folder; give the files in it" if path.is_dir() else "no such file"
        raise DataError(f"{path}: {problem}")
    name = path.name.lower()
    if name.endswith(".npz"):
        return _read_npz(path)
    if name.endswith((".json", ".json.zip", ".zip")):
        records = cursive_json.read_records(path)
        raw = [
            (f"{path}: record {i}", *cursive_json.record_strokes(r, f"{path}: record {i}"))
            for i, r in enumerate(records)
        ]
        return _normalized(path, raw)
    if name.endswith(".xml"):
        return _normalized(path, [(str(path), iam_ondb.read_line_strokes(path), "", None)])
    raise DataError(f"{path}: unknown format; ink files are {FORMATS}")


def _read_npz(path: Path) -> list[InkRecord]:
    written = None  # the arrays of a `trajtok write` file
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if not ({"train", "valid", "test"} & keys):
                written = {k: data[k] for k in keys}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        if "pickle" not in str(exc):  # stroke-3 object arrays: read below, with pickle
            raise DataError(f"{path}: not a readable .npz ({exc})") from None
    if written is not None:  # outside the try: its own errors say what is wrong, not "not readable"
        return _read_written(path, written)
    drawings = stroke3.read_drawings(path, tuple(k for k in ("train", "valid", "test")))
    raw = [
        (f"{path}: {where}", stroke3.drawing_strokes(d, f"{path}: {where}"), "", None)
        for where, d in drawings
    ]
    return _normalized(path, raw)


def _read_written(path: Path, arrays: dict[str, np.ndarray]) -> list[InkRecord]:
    """`trajtok write` output: one record per phrase (points_<i>), else the page (points)."""
    phrases = sorted(
        (k for k in arrays if k.startswith("points_") and k[7:].isdigit()), key=lambda k: int(k[7:])
    )
    keys = phrases or (["points"] if "points" in arrays else [])
    if not keys:
        raise DataError(
            f"{path}: a .npz without `points` / `points_<i>` (trajtok write) or train/valid/test (stroke-3) "
            f"arrays; found {sorted(arrays)}"
        )
    texts = [str(t) for t in arrays["texts"]] if "texts" in arrays else []
    writers = _declared_writers(path, arrays, len(keys))
    records = []
    for i, key in enumerate(keys):
        points = np.asarray(arrays[key], dtype=np.float32)
        where = f"{path}: {key}"
        if points.ndim != 2 or points.shape[1] != 3:
            raise DataError(f"{where}: expected (T, 3) [x, y, pen_lift] points, got shape {points.shape}")
        deltas, lifts = differentiate(points)
        sample = Sample(deltas, lifts[:, None])
        truth = texts[i] if phrases and i < len(texts) else None
        records.append(_checked(where, sample, truth, writers[i]))
    return records


def _declared_writers(path: Path, arrays: dict[str, np.ndarray], n: int) -> list[str | None]:
    """The writer of each of `n` records: the `writers` array (one name per record), the `writer` array
    (one name for them all), or None each where the file declares neither."""
    if "writers" in arrays:
        writers = [str(w) for w in np.asarray(arrays["writers"]).reshape(-1)]
        if len(writers) != n:
            raise DataError(f"{path}: `writers` names {len(writers)} writers for {n} records; give one each")
        return writers
    if "writer" in arrays:
        writer = np.asarray(arrays["writer"]).reshape(-1)
        if len(writer) != 1:
            raise DataError(f"{path}: `writer` must be one name; use `writers` for one name per record")
        return [str(writer[0])] * n
    return [None] * n


def _checked(name: str, sample: Sample, truth: str | None, writer: str | None = None) -> InkRecord:
    problem = check_ink(sample)
    return InkRecord(name, None if problem else sample, problem, truth, writer)


def _normalized(path: Path, raw: list[tuple[str, list[np.ndarray], str, str | None]]) -> list[InkRecord]:
    """(name, strokes in source units with y up, text, author) -> records in handwriting units."""
    builder = SampleSetBuilder(str(path), Limits(max_points=MAX_POINTS, max_jump=float("inf")))
    records: list[InkRecord] = []
    pending: list[int] = []  # indices of the records the builder took, in its order
    for name, strokes, text, author in raw:
        points = join_strokes([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)])
        deltas, lifts = differentiate(points)
        record = _checked(name, Sample(deltas, lifts[:, None]), text or None, author)
        if record.problem is None:
            before = len(builder.pending)
            builder.add_strokes(strokes, text, group=author)
            if len(builder.pending) == before:  # the normalizer found no extent to scale (a single dot)
                record = InkRecord(
                    name, None, "no ink extent (all points at one spot); nothing to read", text, author
                )
            else:
                pending.append(len(records))
        records.append(record)
    for i, sample in zip(pending, builder.build().samples, strict=True):
        records[i].sample = sample
    return records
