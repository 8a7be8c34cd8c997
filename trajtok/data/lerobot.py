"""LeRobot-style episodes (parquet) -> gripper SampleSet (needs pyarrow: `pip install 'trajtok[gripper]'`).

Input: one .parquet file, or a dataset directory (every `*.parquet` under it, e.g. `data/chunk-000/`), with
columns `action` (list of floats per frame: [x, y, z, ..., gripper]), `episode_index`, and optionally
`frame_index` (frame order; file order otherwise), `observation.state` (list of floats; its first frame of an
episode becomes the state vector), `task_index` (looked up in `meta/tasks.jsonl`) or `task` (the text).
- Actions are absolute end-effector positions by default (LeRobot records commanded targets); deltas start at
  zero (the start pose is in the state vector). `actions="delta"` reads them as per-step deltas.
- Gripper: closed where the last action column > `gripper_threshold` (0 for a [-1, 1] command).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trajtok.data.gripper import actions_to_sample, gripper_sample_set, require, source_loader
from trajtok.data.splits import select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

ACTION_MODES = ("absolute", "delta")
REQUIRED_COLUMNS = ("action", "episode_index")
OPTIONAL_COLUMNS = ("frame_index", "observation.state", "task_index", "task")


def load_lerobot(
    path: str | Path,
    split: str = "all",
    n: int | None = None,
    seed: int = 0,
    actions: str = "absolute",
    gripper_threshold: float = 0.0,
) -> SampleSet:
    """The episodes of `split` ("all", or train / val / test by a stable hash of "episode <index>"), a seeded
    `n` of them if given, as a gripper SampleSet."""
    if actions not in ACTION_MODES:
        raise ValueError(f"actions={actions!r}: expected one of {', '.join(ACTION_MODES)}")
    require("pyarrow", "gripper", "reading LeRobot parquet")
    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no .parquet files")
    tasks = _read_tasks(path if path.is_dir() else path.parent)
    episodes = [(file, *episode) for file in files for episode in _episodes(file)]
    samples = []
    for i in select([f"episode {episode}" for _, episode, _ in episodes], split, n, seed):
        file, episode, columns = episodes[i]
        where = f"{file}: episode {episode}"
        state = columns.get("observation.state")
        samples.append(
            actions_to_sample(
                _matrix(columns["action"], f"{where}: action"),
                where=f"{where}: action",
                absolute=actions == "absolute",
                gripper_threshold=gripper_threshold,
                text=_episode_text(columns, tasks, where),
                state=None if state is None else _matrix(state, f"{where}: observation.state")[0],
            )
        )
    return gripper_sample_set(samples, source=str(path))


load = source_loader(load_lerobot)


def _episodes(file: Path):
    """Yield (episode_index, {column: list of per-frame values in frame order}) for one parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such parquet file")
    try:
        schema = pq.read_schema(file)
        missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
        if missing:
            raise DataError(f"{file}: missing column(s) {', '.join(missing)}; expected LeRobot episodes")
        columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in schema.names]
        table = pq.read_table(file, columns=columns).to_pydict()
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{file}: not a readable parquet file ({exc})") from None
    episode_ids = np.asarray(table["episode_index"])
    order = np.lexsort((np.asarray(table.get("frame_index", np.arange(len(episode_ids)))), episode_ids))
    for episode in dict.fromkeys(episode_ids[order].tolist()):
        rows = order[episode_ids[order] == episode]
        yield episode, {name: [values[i] for i in rows] for name, values in table.items()}


def _matrix(rows: list, where: str) -> np.ndarray:
    """Per-frame lists -> (T, K) float64; ragged or missing values are a DataError."""
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: frames are not equal-length lists of numbers") from None
    if matrix.ndim != 2:
        raise DataError(f"{where}: expected one list of numbers per frame, got shape {matrix.shape}")
    return matrix


def _read_tasks(root: Path) -> dict[int, str]:
    """meta/tasks.jsonl ({"task_index": i, "task": "..."} per line) next to or above the data, if any."""
    for folder in (root, *root.parents):
        tasks_file = folder / "meta" / "tasks.jsonl"
        if tasks_file.is_file():
            tasks = {}
            for line_no, line in enumerate(tasks_file.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    tasks[int(record["task_index"])] = str(record["task"])
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    raise DataError(f"{tasks_file}: line {line_no}: expected {{task_index, task}}") from None
            return tasks
    return {}


def _episode_text(columns: dict, tasks: dict[int, str], where: str) -> str:
    if "task" in columns:
        return str(columns["task"][0])
    if "task_index" in columns:
        index = int(columns["task_index"][0])
        if tasks and index not in tasks:
            raise DataError(f"{where}: task_index {index} is not in meta/tasks.jsonl")
        return tasks.get(index, "")
    return ""
