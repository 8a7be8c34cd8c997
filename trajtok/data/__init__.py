"""Handwriting data: named sources and file formats, all loaded as a SampleSet (trajtok.sample).

    load_source("hershey", split="train", n=2000, seed=0)   # embedded synthetic corpus, offline
    load_source("bigbank")                                   # ../shared/data/bigbank_3500.json.zip
    load_source("path/to/file.json.zip" | "path/to/IAM-OnDB/" | "path/to/cat.npz")
    load_source("demos/" | "demo.hdf5" | "lerobot/", events="none")  # robot demos, with their options
    load_source("pickplace")     # a named source others register (trajtok_sim.demos.register(); the CLI does)

Options (keyword arguments; `--option key=value` on the CLI, `data.options` in training configs) go to the
loader of the format, which refuses any it does not use: `source_options(spec)` lists them.

Results are cached on disk (trajtok.data.cache), so the second load of the same request is fast.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trajtok.data import cache
from trajtok.data.channels import check_options
from trajtok.data.detect import detect_format
from trajtok.data.normalize import LIMIT_OPTIONS, Limits
from trajtok.errors import DataError
from trajtok.sample import SampleSet

BIGBANK_FILE = "bigbank_3500.json.zip"
# Loader module per file format; each has load(path, split, n, seed, limits, progress, source, **options)
# -> SampleSet and OPTIONS, the options it takes.
FORMAT_MODULES = {
    "cursive_json": "trajtok.data.cursive_json",
    "iam_ondb": "trajtok.data.iam_ondb",
    "stroke3": "trajtok.data.stroke3",
    "gripper_demos": "trajtok.data.gripper",
    "robomimic": "trajtok.data.robomimic",
    "lerobot": "trajtok.data.lerobot",
}
HERSHEY_OPTIONS = ("max_chars",)


@dataclass(frozen=True)
class NamedSource:
    """A source by name that another package provides (e.g. "pickplace", trajtok_sim.demos)."""

    name: str
    description: str
    build: Callable[..., SampleSet]  # (split, n, seed, progress) -> SampleSet
    fingerprint: Callable[[], str]  # changes when what `build` makes changes (the cache key)


NAMED_SOURCES: dict[str, NamedSource] = {}


def register_source(source: NamedSource) -> None:
    NAMED_SOURCES[source.name] = source


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
        SourceInfo(
            "PATH.json[.zip] | PATH/",
            "cursive-transformer JSON: a file, or a folder of them (the studio's)",
            True,
            "any path",
        ),
        SourceInfo("PATH/ (IAM-OnDB)", "IAM-OnDB: lineStrokes/**.xml + ascii/**.txt", True, "any path"),
        SourceInfo(
            "PATH.npz | PATH/", "stroke-3 .npz (sketch-rnn, Quick, Draw!), unconditional", True, "any path"
        ),
        *(SourceInfo(s.name, s.description, True, "built in") for s in NAMED_SOURCES.values()),
        SourceInfo(
            "PATH/ | .hdf5 | .parquet",
            "robot demos: trajtok data make-gripper, robomimic / robosuite, LeRobot v2.x / v3.0",
            True,
            "any path",
        ),
    ]


def source_options(spec: str | os.PathLike) -> tuple[str, ...]:
    """The options the loader of `spec` takes."""
    spec = str(spec)
    if spec in NAMED_SOURCES:
        return ()
    if spec == "hershey":
        return HERSHEY_OPTIONS
    fmt = detect_format(bigbank_path() if spec == "bigbank" else Path(spec))
    return importlib.import_module(FORMAT_MODULES[fmt]).OPTIONS


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

    options: max_chars (hershey); max_points, max_jump (handwriting files: degenerate-sample limits); robot
    files: see trajtok.data.channels and each loader. A loader refuses options it does not use.
    progress(done, total) is called while a set is built (not when it comes from the cache).
    """
    spec = str(spec)
    if spec in NAMED_SOURCES:
        named = NAMED_SOURCES[spec]
        check_options(options, (), spec)
        request = {"source": spec, "split": split, "n": n, "seed": seed, "code": named.fingerprint()}

        def build() -> SampleSet:
            return named.build(split, n, seed, progress)

    elif spec == "hershey":
        check_options(options, HERSHEY_OPTIONS, spec)
        request = {"source": "hershey", "split": split, "n": n, "seed": seed, "options": options}
        build = _hershey_builder(split, n, seed, progress, options)
    else:
        path = bigbank_path() if spec == "bigbank" else Path(spec)
        if not path.exists():
            names = ", ".join(["hershey", "bigbank", *NAMED_SOURCES])
            hint = (
                " (put the zip there or set TRAJTOK_BIGBANK)"
                if spec == "bigbank"
                else f" (named sources: {names}; pickplace after trajtok_sim.demos.register(), as the CLI)"
            )
            raise DataError(f"{spec}: data not found at {path}{hint}")
        fmt = detect_format(path)
        module = importlib.import_module(FORMAT_MODULES[fmt])
        check_options(options, module.OPTIONS, spec)
        request = {
            "source": str(path.resolve()),
            "format": fmt,
            "files": cache.files_fingerprint(path),
            "split": split,
            "n": n,
            "seed": seed,
            "options": options,
        }
        name = "bigbank" if spec == "bigbank" else str(path)
        limits = Limits(**{k: v for k, v in options.items() if k in LIMIT_OPTIONS})
        rest = {k: v for k, v in options.items() if k not in LIMIT_OPTIONS}

        def build() -> SampleSet:
            return module.load(path, split, n, seed, limits, progress, source=name, **rest)

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
