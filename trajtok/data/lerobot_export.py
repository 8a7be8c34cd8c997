"""Write gripper demos as a LeRobot v3.0 dataset, so they go where people's tools are.

    ROOT/meta/info.json                       codebase_version v3.0, fps, features with names, splits
    ROOT/meta/tasks.parquet                   task_index, the task text as the (pandas) index
    ROOT/meta/episodes/chunk-000/file-000.parquet   episode_index, tasks, length, data file and frame range
    ROOT/meta/stats.json                      min / max / mean / std / count per numeric feature
    ROOT/data/chunk-000/file-000.parquet      one row per frame

`action` is [dx, dy, dz, gripper] (fingertip per-step deltas in metres, the gripper 1 closed / 0 open): names
that say deltas, so trajtok.data.lerobot reads them back as they are. `observation.state` is the policy state
(cube and tray xyz in workspace units, trajtok.data.gripper.policy_state), the same on every frame of an
episode. Episodes the expert failed are left out; the others are written train first, then val, then test
(our stable hash of "episode <i>"), and info.json `splits` names the three ranges, so each split reads back
as the same samples in the same order.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from trajtok.data.gripper import GRIPPER_DIMS, GripperDemos, policy_state, require
from trajtok.data.splits import split_names

CODEBASE_VERSION = "v3.0"
DATA_FILE = "data/chunk-000/file-000.parquet"
EPISODES_FILE = "meta/episodes/chunk-000/file-000.parquet"
STATE_NAMES = ("cube_x", "cube_y", "cube_z", "tray_x", "tray_y", "tray_z")
SPLIT_ORDER = ("train", "val", "test")


def write_lerobot(demos: GripperDemos, root: str | Path, robot_type: str = "panda") -> dict:
    """Write `demos` (their successful episodes) as a LeRobot v3.0 dataset at `root`, replacing what a
    previous export left there; returns the info.json written. The folder appears whole or not at all."""
    pa = require("pyarrow", "gripper", "writing LeRobot parquet")
    import pyarrow.parquet as pq

    root = Path(root)
    kept = [i for i in range(len(demos)) if demos.success[i]]
    names = split_names([f"episode {i}" for i in kept])
    by_split = {name: [i for i, n in zip(kept, names, strict=True) if n == name] for name in SPLIT_ORDER}
    order = [i for name in SPLIT_ORDER for i in by_split[name]]
    if not order:
        raise ValueError("no successful episodes to export")
    tasks = list(dict.fromkeys(demos.instruction[i] for i in order))
    fps = float(demos.meta.get("control_rate_hz", 0)) or None
    frames: dict[str, list] = {k: [] for k in ("action", "observation.state", "timestamp", "frame_index")}
    frames.update(episode_index=[], index=[], task_index=[])
    episodes: dict[str, list] = {
        k: [] for k in ("episode_index", "tasks", "length", "dataset_from_index", "dataset_to_index")
    }
    for episode, i in enumerate(order):
        deltas, closed = demos.deltas[i], demos.gripper[i]
        start, length = len(frames["index"]), len(deltas)
        frames["action"] += np.hstack([deltas, closed[:, None]]).astype(np.float32).tolist()
        frames["observation.state"] += [policy_state(demos.state[i]).tolist()] * length
        frames["timestamp"] += (np.arange(length, dtype=np.float32) / (fps or 1.0)).tolist()
        frames["frame_index"] += list(range(length))
        frames["episode_index"] += [episode] * length
        frames["index"] += list(range(start, start + length))
        frames["task_index"] += [tasks.index(demos.instruction[i])] * length
        for key, value in zip(
            episodes, (episode, [demos.instruction[i]], length, start, start + length), strict=True
        ):
            episodes[key].append(value)
    for key in (
        "data/chunk_index",
        "data/file_index",
        "meta/episodes/chunk_index",
        "meta/episodes/file_index",
    ):
        episodes[key] = [0] * len(order)  # one data file, one episodes file

    tmp = root.with_name(f".{root.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / DATA_FILE).parent.mkdir(parents=True)
        (tmp / EPISODES_FILE).parent.mkdir(parents=True)
        vector = pa.list_(pa.float32())
        schema = {"action": vector, "observation.state": vector, "timestamp": pa.float32()}
        table = pa.table({k: pa.array(v, type=schema.get(k, pa.int64())) for k, v in frames.items()})
        pq.write_table(table, tmp / DATA_FILE)
        pq.write_table(pa.table(episodes), tmp / EPISODES_FILE)
        pq.write_table(_tasks_table(pa, tasks), tmp / "meta" / "tasks.parquet")
        (tmp / "meta" / "stats.json").write_text(json.dumps(_stats(frames), indent=2))
        bounds = np.cumsum([0] + [len(by_split[name]) for name in SPLIT_ORDER])
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": robot_type,
            "total_episodes": len(order),
            "total_frames": len(frames["index"]),
            "total_tasks": len(tasks),
            "chunks_size": 1000,
            "fps": fps,
            "splits": {name: f"{bounds[k]}:{bounds[k + 1]}" for k, name in enumerate(SPLIT_ORDER)},
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": None,
            "features": _features(fps),
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 500,
        }
        (tmp / "meta" / "info.json").write_text(json.dumps(info, indent=2))
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def _features(fps) -> dict:
    def scalar(dtype: str) -> dict:
        return {"dtype": dtype, "shape": [1], "names": None, "fps": fps}

    return {
        "action": {"dtype": "float32", "shape": [4], "names": [*GRIPPER_DIMS, "gripper"], "fps": fps},
        "observation.state": {"dtype": "float32", "shape": [6], "names": list(STATE_NAMES), "fps": fps},
        "timestamp": scalar("float32"),
        "frame_index": scalar("int64"),
        "episode_index": scalar("int64"),
        "index": scalar("int64"),
        "task_index": scalar("int64"),
    }


def _tasks_table(pa, tasks: list[str]):
    """task_index with the text as the pandas index, as LeRobot v3.0 writes it (pandas.read_parquet
    restores the index from the schema's pandas metadata)."""
    pandas = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64"},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode"},
        ],
        "pandas_version": "2.2.3",
    }
    table = pa.table({"task_index": list(range(len(tasks))), "__index_level_0__": tasks})
    return table.replace_schema_metadata({"pandas": json.dumps(pandas)})


def _stats(frames: dict) -> dict:
    stats = {}
    for key, values in frames.items():
        array = np.asarray(values, np.float64).reshape(len(values), -1)
        stats[key] = {
            "min": array.min(0).tolist(),
            "max": array.max(0).tolist(),
            "mean": array.mean(0).tolist(),
            "std": array.std(0).tolist(),
            "count": [len(array)],
        }
    return stats
