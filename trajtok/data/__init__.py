"""Handwriting data: named sources and file formats, all loaded as a SampleSet (trajtok.sample).

    load_source("hershey", split="train", n=2000, seed=0)   # embedded synthetic corpus, offline
    load_source("bigbank")                                   # ../shared/data/bigbank_3500.json.zip
    load_source("path/to/file.json.zip" | "path/to/IAM-OnDB/" | "path/to/cat.npz")
    load_source("pickplace" | "demos/" | "demo.hdf5" | "lerobot/")  # gripper demos: trajtok.data.gripper

Results are cached on disk (trajtok.data.cache), so the second load of the same request is fast.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from trajtok.data import cache
from trajtok.data.normalize import Limits
from trajtok.errors import DataError
from trajtok.sample import SampleSet

BIGBANK_FILE = "bigbank_3500.json.zip"
# Loader module per file format; each has load(path, split, n, seed, limits, progress, source) -> SampleSet.
FORMAT_MODULES = {
    "cursive_json": "trajtok.data.cursive_json",
    "iam_ondb": "trajtok.data.iam_ondb",
    "stroke3": "trajtok.data.stroke3",
    "gripper_demos": "trajtok.data.gripper",
    "robomimic": "trajtok.data.robomimic",
    "lerobot": "trajtok.data.lerobot",
}
HERSHEY_OPTIONS = ("max_chars",)
LIMIT_OPTIONS = tuple(f.name for f in fields(Limits))


@dataclass(frozen=True)
class SourceInfo:
    name: str
    description: str
    available: bool
    location: str  # a path, or why it is missing


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def bigbank_path() -> Path:
    """Where the bigbank zip is expected: $TRAJTOK_BIGBANK, else ../shared/data/ beside the repository."""
    explicit = os.environ.get("TRAJTOK_BIGBANK")
    if explicit:
        return Path(explicit)
    return (repo_root().parent / "shared" / "data" / BIGBANK_FILE).resolve()


def list_sources() -> list[SourceInfo]:
    bigbank = bigbank_path()
    return [
        SourceInfo(
            "hershey", "synthetic handwriting from Hershey single-stroke fonts (built in)", True, "built in"
        ),
        SourceInfo(
            "bigbank",
            "3,500 cursive words by one writer (cursive-transformer JSON)",
            bigbank.is_file(),
            str(bigbank) if bigbank.is_file() else f"absent: expected {bigbank} (or set TRAJTOK_BIGBANK)",
        ),
        SourceInfo("PATH.json[.zip]", "cursive-transformer JSON file", True, "any path"),
        SourceInfo("PATH/ (IAM-OnDB)", "IAM-OnDB: lineStrokes/**.xml + ascii/**.txt", True, "any path"),
        SourceInfo(
            "PATH.npz | PATH/", "stroke-3 .npz (sketch-rnn, Quick, Draw!), unconditional", True, "any path"
        ),
        SourceInfo(
            "pickplace", "pick-and-place demos of the scripted PyBullet expert (generated)", True, "built in"
        ),
        SourceInfo(
            "PATH/ | .hdf5 | .parquet",
            "gripper demos: trajtok make-gripper, robomimic, LeRobot",
            True,
            "any path",
        ),
    ]


def detect_format(path: Path) -> str:
    """The loader for a file or directory, from its name and content."""
    from trajtok.data.gripper import gripper_format  # robot demos first: their .npz / folders hold no strokes

    gripper = gripper_format(path)
    if gripper:
        return gripper
    if path.is_dir():
        if (path / "lineStrokes").is_dir() or any(path.rglob("*.xml")):
            return "iam_ondb"
        if any(path.glob("*.npz")):
            return "stroke3"
        raise DataError(
            f"{path}: no IAM-OnDB lineStrokes/ (*.xml) nor stroke-3 *.npz files found in this directory"
        )
    name = path.name.lower()
    if name.endswith((".json", ".json.zip", ".zip")):
        return "cursive_json"
    if name.endswith(".npz"):
        return "stroke3"
    raise DataError(f"{path}: unknown data format; expected .json/.json.zip, .npz or an IAM-OnDB directory")


def _check_options(options: dict, allowed: tuple[str, ...], source: str) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{source}: unknown option(s) {unknown}; allowed: {list(allowed)}")


def load_source(
    spec: str | os.PathLike,
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> SampleSet:
    """Load a named source ("hershey", "bigbank") or a path, as a SampleSet in handwriting units.

    options: max_chars (hershey); max_points, max_jump (real data: degenerate-sample limits).
    progress(done, total) is called while a set is built (not when it comes from the cache).
    """
    spec = str(spec)
    if spec == "pickplace":
        from trajtok.data.gripper import generate_pickplace, pickplace_fingerprint

        _check_options(options, (), spec)
        request = {"source": spec, "split": split, "n": n, "seed": seed, "sim": pickplace_fingerprint()}

        def build() -> SampleSet:
            return generate_pickplace(split, n, seed, progress)

    elif spec == "hershey":
        _check_options(options, HERSHEY_OPTIONS, spec)
        request = {"source": "hershey", "split": split, "n": n, "seed": seed, "options": options}
        build = _hershey_builder(split, n, seed, progress, options)
    else:
        path = bigbank_path() if spec == "bigbank" else Path(spec)
        if not path.exists():
            hint = " (put the zip there or set TRAJTOK_BIGBANK)" if spec == "bigbank" else ""
            raise DataError(f"{spec}: data not found at {path}{hint}")
        _check_options(options, LIMIT_OPTIONS, spec)
        fmt = detect_format(path)
        request = {
            "source": str(path.resolve()),
            "format": fmt,
            "files": cache.files_fingerprint(path),
            "split": split,
            "n": n,
            "seed": seed,
            "options": options,
        }
        module = importlib.import_module(FORMAT_MODULES[fmt])
        name = "bigbank" if spec == "bigbank" else str(path)

        def build() -> SampleSet:
            return module.load(path, split, n, seed, Limits(**options), progress, source=name)

    key = cache.cache_key(request)
    if use_cache:
        cached = cache.load(key)
        if cached is not None:
            return cached
    sample_set = build()
    if use_cache:
        cache.save(key, sample_set)
    return sample_set


def _hershey_builder(split, n, seed, progress, options) -> Callable[[], SampleSet]:
    from trajtok.data import hershey

    return lambda: hershey.load(split, n, seed, progress=progress, **options)
