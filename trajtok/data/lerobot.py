"""LeRobot datasets (v2.0, v2.1, v3.0) -> SampleSet (needs pyarrow: `pip install 'trajtok[gripper]'`).

PATH: a dataset root (meta/ + data/), its data/ folder, or one data .parquet file; metadata is found at or
above it. Read from meta/:
  info.json           codebase_version, fps, features (the action's names and shape), splits
  tasks.jsonl | tasks.parquet         task text per task_index (v2.x | v3.0, the text is the pandas index)
  episodes.jsonl | episodes/*.parquet episode_index and length, checked against the data files
Data files (data/**.parquet, one or many episodes each): the action feature (`action`, else `actions`, or
`action_key=`), `episode_index`, `frame_index` (frame order), `task_index`, `observation.state` (its first
frame is the state vector; `state_key=` another feature or none).

Channels (trajtok.data.channels): names from info.json; actions are absolute targets (LeRobot records
commanded positions) unless their names say deltas (dx, delta_x, ...) or `actions=delta`. A gripper is a
column named like one; unnamed actions need `events=`. Per-frame action chunks (shape [H, K]) are refused
unless `unchunk=first`. Splits: info.json `splits` when it names more than one, else a stable hash of
"episode <index>". Zero-length episodes are skipped and counted; NaN actions, and episodes that disagree
between metadata and data, are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trajtok.data.channels import CHANNEL_OPTIONS, check_finite, check_options, resolve_channels
from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

OPTIONS = (*CHANNEL_OPTIONS, "action_key", "state_key", "unchunk")
ACTION_KEYS = ("action", "actions")
STATE_KEY = "observation.state"
UNCHUNK_MODES = ("first",)


@dataclass
class Layout:
    """Where a LeRobot dataset's parts are."""

    root: Path | None  # the folder holding meta/, when there is one
    data_files: list[Path]
    complete: bool  # the data files are the whole dataset (so metadata episodes must all be there)
    info: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.info.get("codebase_version", "unversioned"))


def load_lerobot(
    path: str | Path, split: str = "all", n: int | None = None, seed: int = 0, progress=None, **options
) -> SampleSet:
    """The episodes of `split`, a seeded `n` of them if given, as a SampleSet named by the dataset;
    `progress(files read, data files)` after each data file."""
    from trajtok.data.gripper import require

    require("pyarrow", "gripper", "reading LeRobot parquet")
    check_options(options, OPTIONS, str(path))
    layout = find_layout(Path(path))
    features = layout.info.get("features", {})
    key = options.get("action_key") or next((k for k in ACTION_KEYS if k in features), None)
    state_key = options.get("state_key", STATE_KEY)
    episodes = {}
    for done, file in enumerate(layout.data_files, 1):
        key = key or _action_key_of(file)
        for index, columns in _read_episodes(file, key, state_key):
            if index in episodes:
                raise DataError(f"{file}: episode {index} is also in {episodes[index][0]}")
            episodes[index] = (file, columns)
        if progress:
            progress(done, len(layout.data_files))
    dropped, episode_tasks = _check_against_metadata(layout, episodes)
    if not episodes:
        raise DataError(f"{path}: no episodes with frames in {len(layout.data_files)} data file(s)")
    actions = {
        i: _actions(cols[key], f"{file}: episode {i}: {key}", features.get(key), options)
        for i, (file, cols) in episodes.items()
    }
    for i, (file, _) in episodes.items():
        check_finite(actions[i], f"{file}: episode {i}", key, _names(features.get(key)))
    spec = resolve_channels(
        np.concatenate(list(actions.values())),
        _names(features.get(key)),
        where=str(layout.root / "meta" / "info.json" if layout.info else layout.data_files[0]),
        feature=key,
        options=options,
        absolute=True,
        absolute_why="LeRobot records commanded targets",
    )
    tasks = _read_tasks(layout.root) if layout.root else {}
    order = sorted(episodes)
    members, split_source = _split_members(layout, order, split)
    chosen = [members[j] for j in select([str(i) for i in members], "all", n, seed)]
    samples = []
    for i in chosen:
        file, columns = episodes[i]
        where = f"{file}: episode {i}"
        state = columns.get(state_key)
        samples.append(
            spec.sample(
                actions[i],
                where,
                text=_episode_text(columns, tasks, where) or episode_tasks.get(i, ""),
                state=None if state is None else _matrix(state[:1], f"{where}: {state_key}")[0],
            )
        )
    mapping = {
        "format": f"LeRobot {layout.version}",
        "fps": layout.info.get("fps"),
        **spec.describe(),
        "splits": split_source,
        "state": f"{state_key}, first frame" if any(s.state is not None for s in samples) else "none",
    }
    return spec.sample_set(samples, str(path), dropped, mapping)


def load(path, split="train", n=None, seed=0, limits=None, progress=None, source=None, **options):
    loaded = load_lerobot(path, split, n, seed, progress, **options)
    loaded.source = source or loaded.source
    return loaded


# -- where things are ----------------------------------------------------------------------------------------
def find_layout(path: Path) -> Layout:
    """The dataset root, info.json and data files for a root, a data/ folder or one data file."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such LeRobot dataset or parquet file")
    root = next((p for p in (path, *list(path.parents)[:4]) if (p / "meta").is_dir()), None)
    if root is not None and (root / "meta") in (path, *path.parents):
        raise DataError(f"{path}: LeRobot metadata, not frames; point at the dataset root {root} or data/")
    info = _read_info(root / "meta" / "info.json") if root else {}
    if path.is_file():
        return Layout(root, [path], complete=False, info=info)
    data_dir = data_folder(path)
    files = data_files(data_dir)
    if not files:
        raise DataError(
            f"{path}: not a LeRobot dataset: no meta/info.json and no data .parquet files (expected "
            f"{data_dir}/chunk-000/*.parquet)"
            if root is None
            else f"{path}: no data .parquet files (expected {data_dir}/chunk-000/*.parquet)"
        )
    complete = root is not None and data_dir.resolve() in ((root / "data").resolve(), root.resolve())
    return Layout(root, files, complete=complete, info=info)


def data_folder(path: Path) -> Path:
    """Where a dataset root, its data/ folder or one chunk folder keeps its frames."""
    return path / "data" if (path / "data").is_dir() else path


def data_files(folder: Path) -> list[Path]:
    """The parquet files where LeRobot keeps them: in `folder` or one level down (data/chunk-000/); not
    deeper, so a folder that is no dataset (a home, /tmp) is not searched to its bottom."""
    found = {*folder.glob("*.parquet"), *folder.glob("*/*.parquet")}
    return sorted(p for p in found if "meta" not in p.relative_to(folder).parts)  # meta/tasks.parquet


def _read_info(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not JSON ({exc})") from None
    version = str(info.get("codebase_version", ""))
    if version and not re.match(r"v(2\.[01]|3\.0)\b", version):
        raise DataError(f"{path}: LeRobot {version} is not read (v2.0, v2.1, v3.0); convert it with lerobot")
    return info


def _names(feature: dict | None) -> list[str] | None:
    """info.json feature names: a list, a nested list, or {"motors": [...]} -> flat list, or None."""
    names = (feature or {}).get("names")
    if isinstance(names, dict):
        names = [name for group in names.values() for name in (group if isinstance(group, list) else [group])]
    while isinstance(names, list) and len(names) == 1 and isinstance(names[0], list):
        names = names[0]
    if isinstance(names, list) and names and all(isinstance(name, str) for name in names):
        return names
    return None


def _action_key_of(file: Path) -> str:
    import pyarrow.parquet as pq

    names = _schema(file, pq).names
    key = next((k for k in ACTION_KEYS if k in names), None)
    if key is None:
        raise DataError(
            f"{file}: no column {' or '.join(ACTION_KEYS)}; set --option action_key=COLUMN "
            f"(columns: {', '.join(names)})"
        )
    return key


def _schema(file: Path, pq):
    import pyarrow as pa

    try:
        return pq.read_schema(file)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{file}: not a readable parquet file ({exc})") from None


# -- frames --------------------------------------------------------------------------------------------------
def _read_episodes(file: Path, key: str, state_key: str):
    """Yield (episode_index, {column: per-frame values in frame order}) for one data file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = _schema(file, pq).names
    missing = [c for c in (key, "episode_index") if c not in names]
    if missing:
        hint = "; set --option action_key=COLUMN" if key in missing else ""
        raise DataError(f"{file}: missing column(s) {', '.join(missing)}{hint}")
    wanted = [c for c in (key, "episode_index", "frame_index", "task_index", "task", state_key) if c in names]
    try:
        table = pq.read_table(file, columns=wanted).to_pydict()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{file}: not a readable parquet file ({exc})") from None
    episode_ids = np.asarray(table["episode_index"])
    frames = np.asarray(table.get("frame_index", np.arange(len(episode_ids))))
    order = np.lexsort((frames, episode_ids))
    for episode in dict.fromkeys(episode_ids[order].tolist()):
        rows = order[episode_ids[order] == episode]
        yield int(episode), {name: [values[i] for i in rows] for name, values in table.items()}


def _actions(rows: list, where: str, feature: dict | None, options: dict) -> np.ndarray:
    """Per-frame action lists -> (T, K); per-frame chunks (T, H, K) refused, or their first action taken."""
    shape = (feature or {}).get("shape") or []
    matrix = _matrix(rows, where, allow_chunks=True)
    if matrix.ndim == 2 and len(shape) == 2 and matrix.shape[1] == shape[0] * shape[1]:
        matrix = matrix.reshape(len(matrix), *shape)
    if matrix.ndim == 3:
        mode = options.get("unchunk")
        if mode not in UNCHUNK_MODES:
            raise DataError(
                f"{where}: each frame holds a chunk of {matrix.shape[1]} actions; set --option unchunk=first "
                "(the first action of each frame's chunk)"
            )
        matrix = matrix[:, 0]
    elif options.get("unchunk") is not None:
        raise DataError(f"{where}: unchunk given but the actions are not chunked (shape {matrix.shape})")
    return matrix


def _matrix(rows: list, where: str, allow_chunks: bool = False) -> np.ndarray:
    """Per-frame lists -> (T, K) float64 (or (T, H, K) chunks); ragged or missing values are a DataError."""
    try:
        matrix = np.array([np.nan if v is None else v for v in rows], dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: frames are not equal-length lists of numbers") from None
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 and not (allow_chunks and matrix.ndim == 3):
        raise DataError(f"{where}: expected one list of numbers per frame, got shape {matrix.shape}")
    return matrix


# -- metadata ----------------------------------------------------------------------------------------------
def _metadata_episodes(root: Path) -> tuple[Path, dict[int, int], dict[int, str]] | None:
    """(file, {episode_index: length}, {episode_index: its first task}) from meta/episodes.jsonl (v2.x) or
    meta/episodes/*.parquet (v3.0)."""
    jsonl = root / "meta" / "episodes.jsonl"
    if jsonl.is_file():
        lengths, texts = {}, {}
        for _, record in _jsonl(jsonl, ("episode_index", "length")):
            lengths[int(record["episode_index"])] = int(record["length"])
            texts[int(record["episode_index"])] = _first_task(record.get("tasks"))
        return jsonl, lengths, texts
    files = sorted((root / "meta" / "episodes").rglob("*.parquet"))
    if not files:
        return None
    import pyarrow.parquet as pq

    lengths, texts = {}, {}
    for file in files:
        names = _schema(file, pq).names
        if not {"episode_index", "length"} <= set(names):
            raise DataError(f"{file}: missing column(s) episode_index / length; expected LeRobot episodes")
        columns = ["episode_index", "length", *(["tasks"] if "tasks" in names else [])]
        table = pq.read_table(file, columns=columns).to_pydict()
        for k, index in enumerate(map(int, table["episode_index"])):
            lengths[index] = int(table["length"][k])
            texts[index] = _first_task(table["tasks"][k] if "tasks" in table else None)
    return root / "meta" / "episodes", lengths, texts


def _first_task(tasks) -> str:
    return str(tasks[0]) if isinstance(tasks, list) and tasks else ""


def _check_against_metadata(layout: Layout, episodes: dict) -> tuple[dict[str, int], dict[int, str]]:
    """Refuse episodes whose frames disagree with the metadata; count (and skip) zero-length ones. Returns
    the counts and each episode's task from the metadata."""
    listed = _metadata_episodes(layout.root) if layout.root else None
    if listed is None:
        return {}, {}
    where, lengths, texts = listed
    empty = [i for i, length in lengths.items() if length == 0 and i not in episodes]
    for index, (file, columns) in episodes.items():
        if index not in lengths:
            raise DataError(f"{file}: episode {index} is not listed in {where}")
        frames = len(next(iter(columns.values())))
        if frames != lengths[index]:
            raise DataError(f"{file}: episode {index} has {frames} frames but {where} says {lengths[index]}")
    if layout.complete:
        absent = sorted(i for i, length in lengths.items() if length > 0 and i not in episodes)
        if absent:
            raise DataError(
                f"{where}: lists episode(s) {absent[:5]} that no data file holds; the data files hold "
                f"{len(episodes)} episode(s)"
            )
    return ({"empty_episode": len(empty)} if empty else {}), texts


def _jsonl(path: Path, keys: tuple[str, ...]):
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not all(k in record for k in keys):
                raise KeyError
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(f"{path}: line {line_no}: expected {{{', '.join(keys)}}}") from None
        yield line_no, record


def _read_tasks(root: Path) -> dict[int, str]:
    """Task text per task_index: meta/tasks.jsonl (v2.x) or meta/tasks.parquet (v3.0: text as the index)."""
    jsonl, parquet = root / "meta" / "tasks.jsonl", root / "meta" / "tasks.parquet"
    if jsonl.is_file():
        return {int(r["task_index"]): str(r["task"]) for _, r in _jsonl(jsonl, ("task_index", "task"))}
    if not parquet.is_file():
        return {}
    import pyarrow.parquet as pq

    schema = _schema(parquet, pq)
    pandas = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
    candidates = ("task", *pandas.get("index_columns", []), "__index_level_0__")
    text_column = next((c for c in candidates if c in schema.names), None)
    if "task_index" not in schema.names or text_column is None:
        raise DataError(f"{parquet}: expected columns task_index and the task text (the pandas index)")
    table = pq.read_table(parquet, columns=["task_index", text_column]).to_pydict()
    return dict(zip(map(int, table["task_index"]), map(str, table[text_column]), strict=True))


def _episode_text(columns: dict, tasks: dict[int, str], where: str) -> str:
    if "task" in columns:
        return str(columns["task"][0])
    if "task_index" in columns:
        index = int(columns["task_index"][0])
        if tasks and index not in tasks:
            raise DataError(f"{where}: task_index {index} is not in the dataset's meta/tasks")
        return tasks.get(index, "")
    return ""


def _split_members(layout: Layout, episodes: list[int], split: str) -> tuple[list[int], str]:
    """Episodes of `split`: info.json `splits` ("0:90" ranges) when it names more than one split, else a
    stable hash of "episode <index>"; and where the split came from, in words."""
    split = canonical_split(split)
    declared = layout.info.get("splits") or {}
    if len(declared) > 1:
        ranges = {canonical_split(name): spec for name, spec in declared.items()}
        if split == "all":
            return episodes, f"all episodes (info.json splits {', '.join(ranges)})"
        if split not in ranges:
            raise DataError(
                f"{layout.root / 'meta' / 'info.json'}: splits are {', '.join(declared)}, no {split}; "
                "choose one of them with --split"
            )
        start, stop = (int(v) for v in str(ranges[split]).split(":"))
        return [i for i in episodes if start <= i < stop], f"{split} = episodes {start}:{stop} (info.json)"
    chosen = [episodes[j] for j in select([f"episode {i}" for i in episodes], split, None, 0)]
    return chosen, f"{split} by a stable hash of the episode index (info.json names at most one split)"
