"""robomimic-style HDF5 demonstrations -> gripper SampleSet (needs h5py: `pip install 'trajtok[gripper]'`).

Layout read: `data/demo_K/actions` (T, K>=4) [x, y, z, (rotation...), gripper in [-1, 1]] and
`data/demo_K/obs/*`.
- Actions are per-step end-effector deltas (robosuite OSC with control_delta, robomimic's default; units as in
  the file, robosuite scales [-1, 1] to its output range) or absolute positions. `actions="auto"` reads
  `control_delta` from `data.attrs["env_args"]` (delta when absent); "delta" / "absolute" force it.
  Absolute actions start from `obs/robot0_eef_pos[0]` when present.
- Gripper: closed where the last action column > `gripper_threshold` (0 for the [-1, 1] convention).
- State: the first frame of the `state_keys` observations, concatenated (default `object` when present).
- Text: the demo's `lang` / `language_instruction` attribute, else `problem_info.language_instruction` of
  `data`, else the environment name.
Demos are read in numeric order (demo_2 before demo_10).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from trajtok.data.gripper import actions_to_sample, gripper_sample_set, require, source_loader
from trajtok.data.splits import select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

ACTION_MODES = ("auto", "delta", "absolute")
TEXT_ATTRS = ("lang", "language_instruction", "instruction")


def load_robomimic(
    path: str | Path,
    split: str = "all",
    n: int | None = None,
    seed: int = 0,
    actions: str = "auto",
    state_keys: tuple[str, ...] | None = None,
    gripper_threshold: float = 0.0,
) -> SampleSet:
    """The demos of `split` ("all", or train / val / test by a stable hash of the demo name), a seeded `n`
    of them if given, as a gripper SampleSet."""
    if actions not in ACTION_MODES:
        raise ValueError(f"actions={actions!r}: expected one of {', '.join(ACTION_MODES)}")
    h5py = require("h5py", "gripper", "reading robomimic HDF5")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such robomimic HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        data = f.get("data")
        if not isinstance(data, h5py.Group):
            raise DataError(f"{path}: no 'data' group; expected robomimic layout data/demo_K/actions")
        env_args = _json_attr(data, "env_args", path)
        absolute = actions == "absolute" or (actions == "auto" and not _control_delta(env_args))
        default_text = _json_attr(data, "problem_info", path).get("language_instruction") or env_args.get(
            "env_name", ""
        )
        names = sorted((k for k in data if re.fullmatch(r"demo_\d+", k)), key=lambda k: int(k[5:]))
        if not names:
            raise DataError(f"{path}: no data/demo_K groups")
        samples = []
        for name in [names[i] for i in select(names, split, n, seed)]:
            where = f"{path}: data/{name}"
            demo = data[name]
            if "actions" not in demo:
                raise DataError(f"{where}: no 'actions' dataset")
            obs = demo.get("obs", {})
            keys = state_keys if state_keys is not None else (("object",) if "object" in obs else ())
            samples.append(
                actions_to_sample(
                    demo["actions"][()],
                    where=f"{where}/actions",
                    absolute=absolute,
                    origin_xyz=obs["robot0_eef_pos"][0] if absolute and "robot0_eef_pos" in obs else None,
                    gripper_threshold=gripper_threshold,
                    text=_demo_text(demo) or default_text,
                    state=_first_frame_state(obs, keys, where),
                )
            )
    return gripper_sample_set(samples, source=str(path))


load = source_loader(load_robomimic)


def _json_attr(group, key: str, path: Path) -> dict:
    raw = group.attrs.get(key)
    if raw is None:
        return {}
    try:
        value = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except json.JSONDecodeError:
        raise DataError(f"{path}: data.attrs[{key!r}] is not JSON") from None
    return value if isinstance(value, dict) else {}


def _control_delta(env_args: dict) -> bool:
    """robosuite's `control_delta` wherever the controller config keeps it; True (delta) when absent."""
    stack = [env_args]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "control_delta" in node:
                return bool(node["control_delta"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _demo_text(demo) -> str:
    for key in TEXT_ATTRS:
        value = demo.attrs.get(key)
        if value is not None:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


def _first_frame_state(obs, keys: tuple[str, ...], where: str) -> np.ndarray | None:
    parts = []
    for key in keys:
        if key not in obs:
            raise DataError(f"{where}: no obs/{key} for the state vector (state_keys)")
        first = np.asarray(obs[key][0], np.float32).reshape(-1)
        if not np.all(np.isfinite(first)):
            raise DataError(f"{where}: obs/{key}[0] is not finite")
        parts.append(first)
    return np.concatenate(parts) if parts else None
