"""Which loader reads a path: from the formats' own names and layouts, and from content where a name says
little (any folder may hold a .json or an .xml); and, for a folder that is no dataset, the datasets in it."""

from __future__ import annotations

from pathlib import Path

from trajtok.errors import DataError


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
