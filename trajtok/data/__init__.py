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


def detect_format(path: Path) -> str:
    """The loader for a file or directory, from its name and content."""
    fmt = _format_of(path)
    if fmt:
        return fmt
    if _is_run(path):
        raise DataError(
            f"{path}: a training run's folder, not data (its config.yaml names what it trained on)"
        )
    if path.is_dir():
        inside = datasets_inside(path)
        hint = (
            f"; it holds datasets: {', '.join(inside[:6])}{' ...' if len(inside) > 6 else ''}: give one"
            if inside
            else "; give a dataset folder or file (trajtok data list)"
        )
        raise DataError(
            f"{path}: no dataset here: no IAM-OnDB lineStrokes/, stroke-3 *.npz, cursive-transformer *.json, "
            f"LeRobot meta/ + data/ nor trajtok demos{hint}"
        )
    raise DataError(
        f"{path}: unknown data format; expected handwriting (.json / .json.zip, .npz, an IAM-OnDB folder) "
        "or robot demos (.hdf5, .parquet, a LeRobot or trajtok demos folder)"
    )


def datasets_inside(folder: Path, depth: int = 2) -> list[str]:
    """The datasets within `depth` levels below `folder` (its own subfolders and files, then theirs), as
    paths relative to it: what to give instead of a folder of datasets. Only what their content shows to be
    one counts here (a folder's stray .json is no word bank), and what cannot be read is passed over."""
    found, level = [], [folder]
    for _ in range(depth):
        children = [c for d in level for c in _entries(d)]
        datasets = [c for c in children if _surely_data(c)]
        found += [str(c.relative_to(folder)) + ("/" if c.is_dir() else "") for c in datasets]
        level = [c for c in children if c not in datasets and _is_plain_dir(c) and not _is_run(c)]
    return found


def _entries(folder: Path, most: int = 200) -> list[Path]:
    try:
        return sorted(c for c in folder.iterdir() if not c.name.startswith("."))[:most]
    except OSError:
        return []


def _is_plain_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink()
    except OSError:
        return False


def _surely_data(path: Path) -> bool:
    try:
        fmt = _format_of(path)
        if fmt == "cursive_json" and path.is_file():  # named so, not yet looked into
            from trajtok.data.cursive_json import looks_like_records

            return looks_like_records(path)
        return fmt is not None
    except (DataError, OSError):
        return False


def _is_run(path: Path) -> bool:
    return (path / "config.yaml").is_file() and (path / "checkpoints").is_dir()


def _format_of(path: Path) -> str | None:
    """The loader's name, or None where nothing in `path` is data of a known kind."""
    from trajtok.data.cursive_json import json_files, looks_like_records
    from trajtok.data.gripper import gripper_format  # robot demos first: their .npz / folders hold no strokes
    from trajtok.data.iam_ondb import holds_line_strokes

    gripper = gripper_format(path)
    if gripper:
        return gripper
    if _is_run(path):  # its tokenizer.json is no cursive-transformer file
        return None
    if path.is_dir():
        if holds_line_strokes(path):
            return "iam_ondb"
        stroke3 = any(path.glob("*.npz"))
        ct_json = any(looks_like_records(f) for f in json_files(path))  # not a package.json, a tokenizer's
        if stroke3 and ct_json:
            raise DataError(
                f"{path}: holds both stroke-3 *.npz and cursive-transformer *.json files; give one file, "
                "or a folder of one kind"
            )
        return "stroke3" if stroke3 else "cursive_json" if ct_json else None
    name = path.name.lower()
    if name.endswith((".json", ".json.zip", ".zip")):
        return "cursive_json"
    if name.endswith(".npz"):
        return "stroke3"
    return None


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
