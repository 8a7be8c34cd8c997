"""stroke-3 .npz (sketch-rnn, Quick, Draw!): arrays `train`, `valid`, `test`, each a ragged object array of
(N, 3) drawings [dx, dy, pen_lift], y growing downwards, pen_lift = 1 on the last point of each stroke.

Unconditional data: samples have no text; the ink band of each drawing maps to [0, 1]. A directory of .npz
files (one per category, as Quick, Draw! ships them) gives each file's drawings its index as style_id.
The format stores ragged arrays as Python objects, so these files are read with pickle enabled: load only
files you trust.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trajtok.data.normalize import LIMIT_OPTIONS, Limits, SampleSetBuilder
from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError
from trajtok.sample import SampleSet
from trajtok.strokes import split_strokes

SPLIT_KEYS = {"train": ("train",), "val": ("valid",), "test": ("test",), "all": ("train", "valid", "test")}

OPTIONS = LIMIT_OPTIONS


def read_drawings(path: Path, keys: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """(record name, drawing) pairs of one .npz file, for the given split keys. Its object arrays are
    pickled, as sketch-rnn and Quick, Draw! ship them: only a zip archive is opened, never a bare pickle."""
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path}: not a .npz archive (a zip of arrays); give a stroke-3 .npz (sketch-rnn, Quick, Draw!)"
        )
    try:
        with np.load(path, allow_pickle=True, encoding="latin1") as data:
            missing = [k for k in keys if k not in data.files]
            if missing and {"points", "texts"} <= set(data.files):
                raise DataError(
                    f"{path}: a `trajtok write` file (points and texts), not a dataset; `trajtok recognize` "
                    "and `trajtok sim write --strokes` read it"
                )
            if missing:
                raise DataError(f"{path}: no {missing} array(s); stroke-3 files hold train, valid and test")
            return [(f"{key}[{j}]", drawing) for key in keys for j, drawing in enumerate(data[key])]
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable stroke-3 .npz ({exc})") from exc


def drawing_strokes(drawing: object, where: str) -> list[np.ndarray]:
    """(N, 3) [dx, dy, pen_lift] -> strokes, each (M, 2) with y UP."""
    try:
        d = np.asarray(drawing, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: not a numeric (N, 3) array ({exc})") from exc
    if d.ndim != 2 or d.shape[1] != 3:
        raise DataError(f"{where}: expected an (N, 3) array [dx, dy, pen_lift], got shape {d.shape}")
    if len(d) == 0:
        return []
    absolute = np.stack([np.cumsum(d[:, 0]), -np.cumsum(d[:, 1]), d[:, 2] > 0.5], axis=1)
    absolute[-1, 2] = 1.0
    return split_strokes(absolute)


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
    files = sorted(path.glob("*.npz")) if path.is_dir() else [path]
    keys = SPLIT_KEYS[canonical_split(split)]
    records = [
        (f"{file}: {name}", drawing, style if path.is_dir() else None)
        for style, file in enumerate(files)
        for name, drawing in read_drawings(file, keys)
    ]
    chosen = select([where for where, _, _ in records], "all", n, seed)
    builder = SampleSetBuilder(source or str(path), limits)
    for done, i in enumerate(chosen, 1):
        where, drawing, style = records[i]
        builder.add_strokes(drawing_strokes(drawing, where), "", style)
        if progress and (done % 256 == 0 or done == len(chosen)):
            progress(done, len(chosen))
    return builder.build()
