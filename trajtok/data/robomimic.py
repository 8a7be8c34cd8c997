"""robomimic-layout and raw robosuite 1.x HDF5 demonstrations -> SampleSet (needs h5py: `trajtok[gripper]`).

Layout read: `data/demo_K/actions` (T, K) and `data/demo_K/obs/*`; demos in numeric order.
- Task: the demo's `lang` / `language_instruction` attribute, else `problem_info.language_instruction`, else
  the environment name from `data.attrs["env_args"]` (robomimic) or `env` / `env_info` (raw robosuite).
- Channels (trajtok.data.channels): robosuite's OSC_POSE action is [dx, dy, dz, drx, dry, drz, gripper] per
  arm, the gripper -1 open / +1 closed; without a controller config a 7-column action is read the same way but
  its gripper must be clearly two-valued (else `gripper_threshold=`); a 6-column action (an end-effector pose
  without a gripper, as Isaac Lab writes) has no event unless one is declared (`events=`); other widths need
  `events=`. Actions are
  deltas when the controller's `control_delta` says so or says nothing (robomimic's default).
  Absolute actions start from `obs/robot0_eef_pos[0]` when present.
- State: the first frame of the `state_keys` observations, concatenated (default `object` when present).
- Splits: the `mask/<name>` filter keys when the file has them (train, valid -> val, ...; `filter_key=NAME`
  picks any other), else a stable hash of the demo name. robosuite 0.x files are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from trajtok.data.channels import CHANNEL_OPTIONS, check_finite, check_options, resolve_channels
from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

OPTIONS = (*CHANNEL_OPTIONS, "state_keys", "filter_key")
TEXT_ATTRS = ("lang", "language_instruction", "instruction")
OSC_ARM = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")  # robosuite OSC_POSE, per arm
GRIPPER_CONVENTION = "robosuite convention: -1 open, +1 closed"


def load_robomimic(
    path: str | Path, split: str = "all", n: int | None = None, seed: int = 0, progress=None, **options
) -> SampleSet:
    """The demos of `split`, a seeded `n` of them if given, as a SampleSet; `progress(read, demos)`."""
    from trajtok.data.gripper import require

    check_options(options, OPTIONS, str(path))
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
        _refuse_robosuite_0x(data, path)
        env = _json_attr(data, "env_args", path) or _json_attr(data, "env_info", path)
        env_name = env.get("env_name") or _text(data.attrs.get("env", "")) or ""
        default_text = _json_attr(data, "problem_info", path).get("language_instruction") or env_name
        names = sorted((k for k in data if re.fullmatch(r"demo_\d+", k)), key=lambda k: int(k[5:]))
        if not names:
            raise DataError(f"{path}: no data/demo_K groups")
        actions = {}
        for done, name in enumerate(names, 1):
            where = f"{path}: data/{name}"
            if progress:
                progress(done, len(names))
            if "actions" not in data[name]:
                raise DataError(f"{where}: no 'actions' dataset")
            values = data[name]["actions"][()]
            if values.ndim != 2 or len(values) == 0 or not np.issubdtype(values.dtype, np.number):
                raise DataError(f"{where}/actions: expected (T >= 1, K) numbers, got {values.shape}")
            check_finite(values, where, "actions")
            actions[name] = values
        columns, convention, delta_why = _osc_layout(env, actions[names[0]].shape[1])
        spec = resolve_channels(
            np.concatenate(list(actions.values())),
            columns,
            where=str(path),
            feature="actions",
            options=options,
            absolute=not _control_delta(env),
            absolute_why=delta_why,
            convention=convention,
        )
        kind = "robomimic" if "env_args" in data.attrs else "robosuite 1.x demo"
        members, split_source = _split_members(f, names, split, options.get("filter_key"), path)
        samples = []
        for name in [members[i] for i in select(members, "all", n, seed)]:
            where = f"{path}: data/{name}"
            demo = data[name]
            obs = demo.get("obs", {})
            state_keys = options.get("state_keys")
            keys = tuple(state_keys) if state_keys is not None else (("object",) if "object" in obs else ())
            origin = None
            if spec.absolute and "robot0_eef_pos" in obs and spec.dims[:3] == (0, 1, 2):
                origin = actions[name][0, list(spec.dims)].astype(np.float64)
                origin[:3] = obs["robot0_eef_pos"][0]  # the start pose; other dims start at their 1st target
            samples.append(
                spec.sample(
                    actions[name],
                    f"{where}/actions",
                    text=_demo_text(demo) or default_text,
                    state=_first_frame_state(obs, keys, where),
                    origin=origin,
                )
            )
    mapping = {
        "format": kind,
        "task": env_name or "none",
        **spec.describe(),
        "splits": split_source,
    }
    return spec.sample_set(samples, str(path), {}, mapping)


def load(path, split="train", n=None, seed=0, limits=None, progress=None, source=None, **options):
    loaded = load_robomimic(path, split, n, seed, progress, **options)
    loaded.source = source or loaded.source
    return loaded


def _refuse_robosuite_0x(data, path: Path) -> None:
    version = _text(data.attrs.get("repository_version", ""))
    if version.startswith("0."):
        raise DataError(
            f"{path}: a robosuite {version} demo file (its actions are not robosuite 1.x controller "
            "actions); replay it with robosuite 1.x or convert it with robomimic first"
        )


def _osc_layout(env: dict, width: int):
    """(column names or None, {gripper column: (threshold, why)}, why delta/absolute) of a robosuite action:
    OSC_POSE per arm, or a 6-column pose without a gripper; other widths have no known layout."""
    controller = _find(env, "controller_configs") or {}
    kind = controller.get("type", "") if isinstance(controller, dict) else ""
    why = "controller control_delta" if _find(env, "control_delta") is not None else "robomimic default"
    axes = OSC_ARM if _control_delta(env) else tuple(n.removeprefix("d") for n in OSC_ARM)
    if width % 7 == 0 and kind in ("OSC_POSE", ""):
        arms = width // 7
        names = [f"{n}{'' if arms == 1 else arm}" for arm in range(arms) for n in axes]
        grippers = {7 * arm + 6: (0.0, GRIPPER_CONVENTION) for arm in range(arms)}
        return names, grippers if kind == "OSC_POSE" else None, why
    if width == 6:
        return list(axes[:6]), None, why
    return None, None, why


def _find(node, key: str):
    """The first value of `key` anywhere in a nested dict / list (robosuite moves its controller config)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if key in item:
                return item[key]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _control_delta(env: dict) -> bool:
    value = _find(env, "control_delta")
    return True if value is None else bool(value)


def _split_members(f, names: list[str], split: str, filter_key, path: Path) -> tuple[list[str], str]:
    """Demos of `split`: the mask/ filter keys when present, else a stable hash of the demo name."""
    masks = f.get("mask")
    if filter_key is not None:
        if masks is None or filter_key not in masks:
            raise DataError(f"{path}: no mask/{filter_key}; filter keys: {', '.join(masks or []) or 'none'}")
        chosen = {_text(v) for v in masks[filter_key][()]}
        return [k for k in names if k in chosen], f"mask/{filter_key}"
    split = canonical_split(split)
    if masks is None or split == "all":
        chosen = [names[i] for i in select(names, split, None, 0)]
        return chosen, f"{split} by a stable hash of the demo name" if masks is None else "all demos"
    keys = {}
    for key in masks:
        try:
            keys[canonical_split(key)] = key
        except ValueError:
            continue  # other filter keys (e.g. 20_percent): reached with filter_key=
    if split not in keys:
        raise DataError(
            f"{path}: its mask/ filter keys are {', '.join(masks)}: no {split} split; choose --split "
            f"{' or '.join(keys) or 'all'}, or --option filter_key=NAME"
        )
    chosen = {_text(v) for v in masks[keys[split]][()]}
    unknown = sorted(chosen - set(names))
    if unknown:
        raise DataError(f"{path}: mask/{keys[split]} names demos that are not in data/: {unknown[:3]}")
    return [k for k in names if k in chosen], f"{split} = mask/{keys[split]}"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _json_attr(group, key: str, path: Path) -> dict:
    raw = group.attrs.get(key)
    if raw is None:
        return {}
    try:
        value = json.loads(_text(raw))
    except json.JSONDecodeError:
        raise DataError(f"{path}: data.attrs[{key!r}] is not JSON") from None
    return value if isinstance(value, dict) else {}


def _demo_text(demo) -> str:
    for key in TEXT_ATTRS:
        value = demo.attrs.get(key)
        if value is not None:
            return _text(value)
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
