"""Gripper demonstrations: the pick-and-place demo file, making one with the scripted expert, and `Sample`s.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError, TrajtokError
from trajtok.sample import Sample, SampleSet

GRIPPER_DIMS = ("dx", "dy", "dz")
GRIPPER_EVENTS = ("gripper",)
DEMO_FILE = "gripper_demos.npz"
FORMAT = "trajtok-gripper-demos"
FORMAT_VERSION = 1

# Workspace units for the policy's state vector: 0 at the centre of where scenes put cube and tray, +-1 at the
# edges (trajtok_sim.pick_place.PickConfig ranges). A learned projection of inputs of order 1 trains far
# faster than one of metres around 0.5 (measured: 77 % vs 13 % pick success after the same ~900 steps).
STATE_CENTER_M = np.array([0.5, 0.0, 0.02, 0.5, 0.0, 0.0], np.float32)  # cube xyz, tray xyz
STATE_SCALE_M = np.array([0.15, 0.3, 0.05, 0.15, 0.3, 0.05], np.float32)

PICKPLACE_STREAMS = {"train": 0, "val": 1, "test": 2}
PICKPLACE_EPISODES = {"train": 1000, "val": 50, "test": 50}

INSTRUCTION_TEMPLATES = (
    "put the {color} cube in the tray",
    "place the {color} cube into the tray",
    "pick up the {color} cube and drop it in the tray",
    "move the {color} block to the tray",
    "put the {color} block in the tray",
    "grab the {color} cube and put it in the tray",
)


class MissingExtraError(TrajtokError, ImportError):
    """An optional dependency is not installed; the message names the pip extra."""


def require(module: str, extra: str, what: str):
    """Import `module` or fail with one line naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{what} needs {module}: pip install 'trajtok[{extra}]'") from None


def instruction(color: str, rng: np.random.Generator) -> str:
    return INSTRUCTION_TEMPLATES[int(rng.integers(len(INSTRUCTION_TEMPLATES)))].format(color=color)


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


def actions_to_sample(
    actions: np.ndarray,
    *,
    where: str,
    absolute: bool,
    origin_xyz: np.ndarray | None = None,
    gripper_threshold: float = 0.0,
    text: str = "",
    state: np.ndarray | None = None,
) -> Sample:
    """Robot actions (T, K >= 4) -> a gripper Sample. Columns 0-2: end-effector position (x, y, z), either
    per-step deltas or absolute targets (`absolute`); the last column: gripper, closed where > threshold
    (robomimic / robosuite: -1 open, +1 closed); the columns between (rotation) are not used.

    Absolute positions become deltas from `origin_xyz` (the start pose; the first target when unknown, so
    deltas[0] is then zero and the start pose lives only in the state vector).
    """
    actions = np.asarray(actions)
    if actions.ndim != 2 or actions.shape[1] < 4 or len(actions) == 0:
        raise DataError(
            f"{where}: expected actions of shape (T, >=4) [x, y, z, ..., gripper], got {actions.shape}"
        )
    if not np.issubdtype(actions.dtype, np.number) or not np.all(np.isfinite(actions)):
        raise DataError(f"{where}: actions must be finite numbers")
    position = actions[:, :3].astype(np.float64)
    if absolute:
        start = position[0] if origin_xyz is None else np.asarray(origin_xyz, np.float64).reshape(3)
        deltas = np.diff(np.vstack([start, position]), axis=0)
    else:
        deltas = position
    return gripper_sample(deltas, actions[:, -1] > gripper_threshold, text, state)


def gripper_sample_set(
    samples: list[Sample], source: str, dropped: dict[str, int] | None = None
) -> SampleSet:
    return SampleSet(samples, GRIPPER_DIMS, GRIPPER_EVENTS, source=source, dropped=dict(dropped or {}))


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

    def scene(self, i: int):
        """The PickScene of episode `i`, to replay it in the simulator."""
        from trajtok_sim.pick_place import PickScene

        cube_x, cube_y, cube_z, tray_x, tray_y, tray_z = (float(v) for v in self.state[i])
        return PickScene(
            (cube_x, cube_y), float(self.cube_yaw_rad[i]), self.color[i], (tray_x, tray_y), cube_z, tray_z
        )

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
        return gripper_sample_set(samples, source, dropped={"expert_failed": failed} if failed else {})


def run_expert(
    episodes: int, rng: np.random.Generator, progress: Callable[[int, int], None] | None = None
) -> GripperDemos:
    """The scripted expert on `episodes` random scenes drawn from `rng`, each executed in PyBullet.

    `progress(done, total)` is called after each episode.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    require("pybullet", "sim", "making gripper demos")
    from trajtok_sim.expert import expert_plan
    from trajtok_sim.pick_place import PickConfig, PickPlaceSim, sample_scene

    config = PickConfig()
    scenes, plans, texts, success = [], [], [], []
    with PickPlaceSim(config) as sim:
        for done in range(1, episodes + 1):
            scene = sample_scene(rng, config)
            plan = expert_plan(scene, config)
            scenes.append(scene)
            plans.append(plan)
            texts.append(instruction(scene.color, rng))
            success.append(sim.run(scene, *plan).success)
            if progress:
                progress(done, episodes)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dim_names": GRIPPER_DIMS,
        "event_names": GRIPPER_EVENTS,
        "units": "m",
        "control_rate_hz": config.control_rate_hz,
        "state": "cube_x, cube_y, cube_z, tray_x, tray_y, tray_z (m, world frame, at the start)",
    }
    return GripperDemos(
        deltas=[deltas for deltas, _ in plans],
        gripper=[closed for _, closed in plans],
        state=np.stack([scene.state() for scene in scenes]),
        instruction=texts,
        cube_yaw_rad=np.array([scene.cube_yaw_rad for scene in scenes], np.float32),
        color=[scene.color for scene in scenes],
        success=np.array(success, bool),
        meta=meta,
    )


# -- the demo file -----------------------------------------------------------------------------------------
def make_gripper_dataset(
    episodes: int, seed: int, out_dir: str | Path, progress: Callable[[int, int], None] | None = None
) -> GripperDemos:
    """Run the expert on `episodes` scenes drawn from `np.random.default_rng(seed)`, write them to
    `out_dir/DEMO_FILE` and return them."""
    demos = run_expert(episodes, np.random.default_rng(seed), progress)
    demos.meta["seed"] = seed
    write_gripper_demos(demos, Path(out_dir) / DEMO_FILE)
    return demos


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
    except (ValueError, OSError, EOFError) as exc:
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


def pickplace_demos(
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> GripperDemos:
    """`n` fresh expert demonstrations (default PICKPLACE_EPISODES[split]) of one split.

    Each split draws its scenes from its own stream, `default_rng([seed, PICKPLACE_STREAMS[split]])`, so
    train, val and test never share a scene.
    """
    split = canonical_split(split)
    if split not in PICKPLACE_STREAMS:
        raise ValueError(f"pickplace: split {split!r} is not generated; use train, val or test")
    rng = np.random.default_rng([seed, PICKPLACE_STREAMS[split]])
    return run_expert(n or PICKPLACE_EPISODES[split], rng, progress)


def pickplace_fingerprint() -> str:
    """Hash of the scene and expert code and assets, so cached "pickplace" demos follow their changes."""
    import hashlib
    from importlib import resources

    root = resources.files("trajtok_sim")
    digest = hashlib.sha256()
    for name in (
        "pick_place.py",
        "expert.py",
        "assets/pick_cube.urdf",
        "assets/pick_tray.urdf",
        "assets/pick_table.urdf",
    ):
        digest.update(name.encode() + (root / name).read_bytes())
    return digest.hexdigest()[:16]


def generate_pickplace(
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSet:
    """The named source "pickplace": `pickplace_demos` as Samples (failed expert episodes dropped)."""
    return pickplace_demos(split, n, seed, progress).to_sample_set(source="pickplace")


def gripper_format(path: Path) -> str | None:
    """The gripper loader for `path` ("gripper_demos", "robomimic", "lerobot"), or None if it is not one."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir():
        if (path / DEMO_FILE).is_file():
            return "gripper_demos"
        return "lerobot" if any(path.rglob("*.parquet")) else None
    if name.endswith((".hdf5", ".h5")):
        return "robomimic"
    if name.endswith(".parquet"):
        return "lerobot"
    if name.endswith(".npz") and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return "gripper_demos" if {"episode_ends", "meta"} <= set(z.files) else None
        except (ValueError, OSError, EOFError):
            return None
    return None


def source_loader(load_gripper: Callable[..., SampleSet]) -> Callable[..., SampleSet]:
    """A `load_source` entry point, load(path, split, n, seed, limits, progress, source), around one of the
    gripper loaders (handwriting `limits` do not apply to demonstrations)."""

    def load(path, split="train", n=None, seed=0, limits=None, progress=None, source=None) -> SampleSet:
        loaded = load_gripper(path, split, n, seed)
        loaded.source = source or loaded.source
        return loaded

    return load


load = source_loader(load_gripper_demos)
