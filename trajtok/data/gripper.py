"""Gripper demonstrations: the pick-and-place demo file and its `Sample`s (trajtok_sim.demos makes them).

A gripper `Sample` has deltas (T, 3) = end-effector (dx, dy, dz) per control step, in the source's units
(metres for our demos), events (T, 1) = "gripper" *state* (True while commanded closed), text = the
instruction, state = a conditioning vector (our demos: `policy_state`, the initial cube centre xyz and tray
origin xyz in workspace units; loaded robot datasets: their first observation as stored).

Demo file (`gripper_demos.npz`, numpy arrays only, loadable with allow_pickle=False):
  deltas (N_steps, 3) float32, gripper (N_steps,) bool   all episodes concatenated
  episode_ends (N,) int64                                exclusive end of each episode in the step arrays
  state (N, 6) float32, instruction (N,) str             conditioning per episode
  cube_yaw_rad (N,) float32, color (N,) str              the rest of the scene, to replay it
  success (N,) bool                                      did the expert's own execution succeed
  meta () str                                            JSON: format version, names, control rate, seed
Episodes whose expert execution failed are kept in the file and dropped (counted) when loading.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.data.lerobot import data_files, data_folder
from trajtok.data.splits import select
from trajtok.errors import DataError, TrajtokError
from trajtok.sample import Sample, SampleSet

GRIPPER_DIMS = ("dx", "dy", "dz")
GRIPPER_EVENTS = ("gripper",)
DEMO_FILE = "gripper_demos.npz"
OPTIONS = ("include_failures",)
FORMAT = "trajtok-gripper-demos"
FORMAT_VERSION = 1

# Workspace units for the policy's state vector: 0 at the centre of where scenes put cube and tray, +-1 at the
# edges (trajtok_sim.pick_place.PickConfig ranges). A learned projection of inputs of order 1 trains far
# faster than one of metres around 0.5 (measured: 77 % vs 13 % pick success after the same ~900 steps).
STATE_CENTER_M = np.array([0.5, 0.0, 0.02, 0.5, 0.0, 0.0], np.float32)  # cube xyz, tray xyz
STATE_SCALE_M = np.array([0.15, 0.3, 0.05, 0.15, 0.3, 0.05], np.float32)


class MissingExtraError(TrajtokError, ImportError):
    """An optional dependency is not installed; the message names the pip extra."""


def require(module: str, extra: str, what: str):
    """Import `module` or fail with one line naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{what} needs {module}: pip install 'trajtok[{extra}]'") from None


def policy_state(state_m: np.ndarray) -> np.ndarray:
    """(..., 6) cube xyz + tray xyz in metres -> the same in workspace units (float32)."""
    return ((np.asarray(state_m, np.float32) - STATE_CENTER_M) / STATE_SCALE_M).astype(np.float32)


def gripper_sample(
    deltas: np.ndarray, gripper_closed: np.ndarray, text: str = "", state: np.ndarray | None = None
) -> Sample:
    return Sample(
        deltas=np.asarray(deltas, np.float32).reshape(-1, len(GRIPPER_DIMS)),
        events=np.asarray(gripper_closed, bool).reshape(-1, 1),
        text=text,
        state=None if state is None else np.asarray(state, np.float32).reshape(-1),
    )


# -- demonstrations in memory -----------------------------------------------------------------------------
@dataclass
class GripperDemos:
    """Scripted-expert demonstrations, one entry per episode (what the demo file holds)."""

    deltas: list[np.ndarray]  # (T, 3) each, metres
    gripper: list[np.ndarray]  # (T,) bool each, commanded closed
    state: np.ndarray  # (N, 6) cube xyz + tray xyz at the start, metres
    instruction: list[str]
    cube_yaw_rad: np.ndarray  # (N,)
    color: list[str]
    success: np.ndarray  # (N,) bool: the expert's own execution put the cube in the tray
    meta: dict

    def __len__(self) -> int:
        return len(self.deltas)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success)) if len(self) else 0.0

    def to_sample_set(
        self, source: str, split: str = "all", n: int | None = None, seed: int = 0, include_failures=False
    ) -> SampleSet:
        """Episodes of `split` (a seeded `n` of them) as Samples, state in workspace units (`policy_state`).

        Splits: "all", or train / val / test by a stable hash of "episode <i>" (trajtok.data.splits).
        Episodes the expert failed are dropped and counted unless `include_failures`.
        """
        keep = [i for i in range(len(self)) if self.success[i] or include_failures]
        failed = len(self) - len(keep)
        chosen = [keep[j] for j in select([f"episode {i}" for i in keep], split, n, seed)]
        samples = [
            gripper_sample(self.deltas[i], self.gripper[i], self.instruction[i], policy_state(self.state[i]))
            for i in chosen
        ]
        dropped = {"expert_failed": failed} if failed else {}
        mapping = {
            "format": f"{FORMAT} v{FORMAT_VERSION}",
            "dims": "dx, dy, dz: fingertip per-step deltas (m)",
            "events": ["gripper closed where the file says so (stored as a boolean)"],
            "splits": f"{split} by a stable hash of the episode number",
            "state": "cube xyz, tray xyz at the start (workspace units)",
        }
        return SampleSet(samples, GRIPPER_DIMS, GRIPPER_EVENTS, source, dropped, mapping=mapping)


# -- the demo file -----------------------------------------------------------------------------------------
def write_gripper_demos(demos: GripperDemos, path: str | Path) -> Path:
    """Write the demo file atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                deltas=np.concatenate(demos.deltas).astype(np.float32),
                gripper=np.concatenate(demos.gripper).astype(bool),
                episode_ends=np.cumsum([len(d) for d in demos.deltas]).astype(np.int64),
                state=demos.state.astype(np.float32),
                instruction=np.array(demos.instruction),
                cube_yaw_rad=demos.cube_yaw_rad.astype(np.float32),
                color=np.array(demos.color),
                success=demos.success.astype(bool),
                meta=np.array(json.dumps(demos.meta)),
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


DEMO_KEYS = (
    "deltas",
    "gripper",
    "episode_ends",
    "state",
    "instruction",
    "cube_yaw_rad",
    "color",
    "success",
    "meta",
)


def read_gripper_demos(path: str | Path) -> GripperDemos:
    """Read a demo file (or a directory holding DEMO_FILE); malformed content raises DataError."""
    path = Path(path)
    if path.is_dir():
        path = path / DEMO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such demo file; make one with `trajtok data make-gripper`")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{path}: not a readable .npz demo file ({exc}); re-create it with make-gripper"
        ) from None
    missing = [k for k in DEMO_KEYS if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}; re-create it with make-gripper")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError:
        raise DataError(f"{path}: meta is not JSON") from None
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise DataError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} file (meta {meta})")
    deltas, gripper, ends = arrays["deltas"], arrays["gripper"], arrays["episode_ends"]
    n = len(ends)
    if deltas.ndim != 2 or deltas.shape[1] != 3 or gripper.shape != deltas.shape[:1]:
        raise DataError(f"{path}: deltas {deltas.shape} / gripper {gripper.shape} are not (N, 3) / (N,)")
    if n == 0 or ends[-1] != len(deltas) or np.any(np.diff(ends) <= 0) or ends[0] <= 0:
        raise DataError(f"{path}: episode_ends do not split the {len(deltas)} steps into non-empty episodes")
    for key in ("state", "instruction", "cube_yaw_rad", "color", "success"):
        if len(arrays[key]) != n:
            raise DataError(f"{path}: {key} has {len(arrays[key])} rows for {n} episodes")
    bad_steps = np.flatnonzero(~np.isfinite(deltas).all(axis=1))
    if len(bad_steps):
        episode = int(np.searchsorted(ends, bad_steps[0], side="right"))
        raise DataError(f"{path}: episode {episode}: non-finite deltas")
    starts = np.concatenate([[0], ends[:-1]])
    return GripperDemos(
        deltas=[deltas[s:e].astype(np.float32) for s, e in zip(starts, ends, strict=True)],
        gripper=[gripper[s:e].astype(bool) for s, e in zip(starts, ends, strict=True)],
        state=arrays["state"].astype(np.float32),
        instruction=[str(t) for t in arrays["instruction"]],
        cube_yaw_rad=arrays["cube_yaw_rad"].astype(np.float32),
        color=[str(c) for c in arrays["color"]],
        success=arrays["success"].astype(bool),
        meta=meta,
    )


def load_gripper_demos(
    path: str | Path, split: str = "all", n: int | None = None, seed: int = 0, include_failures: bool = False
) -> SampleSet:
    """A demo file's episodes as a SampleSet (see `GripperDemos.to_sample_set`)."""
    return read_gripper_demos(path).to_sample_set(str(path), split, n, seed, include_failures)


def gripper_format(path: Path) -> str | None:
    """The gripper loader for `path` ("gripper_demos", "robomimic", "lerobot"), or None if it is not one."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir():
        if (path / DEMO_FILE).is_file():
            return "gripper_demos"
        is_lerobot = (path / "meta" / "info.json").is_file() or bool(data_files(data_folder(path)))
        return "lerobot" if is_lerobot else None
    if name.endswith((".hdf5", ".h5")):
        return "robomimic"
    if name.endswith(".parquet"):
        return "lerobot"
    if name.endswith(".npz") and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return "gripper_demos" if {"episode_ends", "meta"} <= set(z.files) else None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile):
            return None
    return None


def load(path, split="train", n=None, seed=0, limits=None, progress=None, source=None, **options):
    """The load_source entry point: a demo file's episodes (option include_failures)."""
    from trajtok.data.channels import check_options

    check_options(options, OPTIONS, str(path))
    loaded = load_gripper_demos(path, split, n, seed, bool(options.get("include_failures", False)))
    loaded.source = source or loaded.source
    return loaded
