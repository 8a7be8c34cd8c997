"""Scripted-expert pick-and-place demonstrations: random scenes, the expert's plan, each executed in PyBullet.

What the demos are stored as (the demo file, `GripperDemos`) lives with the data, in trajtok.data.gripper;
this module makes them, and provides the named source "pickplace" (`register()` adds it to load_source).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

from trajtok.data import NamedSource, register_source
from trajtok.data.gripper import (
    DEMO_FILE,
    FORMAT,
    FORMAT_VERSION,
    GRIPPER_DIMS,
    GRIPPER_EVENTS,
    GripperDemos,
    require,
    write_gripper_demos,
)
from trajtok.data.splits import canonical_split
from trajtok.sample import SampleSet

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
FINGERPRINT_FILES = (
    "pick_place.py",
    "expert.py",
    "demos.py",
    "assets/pick_cube.urdf",
    "assets/pick_tray.urdf",
    "assets/pick_table.urdf",
)


def instruction(color: str, rng: np.random.Generator) -> str:
    return INSTRUCTION_TEMPLATES[int(rng.integers(len(INSTRUCTION_TEMPLATES)))].format(color=color)


def scene_of(demos: GripperDemos, i: int):
    """The PickScene of episode `i`, to replay it in the simulator."""
    from trajtok_sim.pick_place import PickScene

    cube_x, cube_y, cube_z, tray_x, tray_y, tray_z = (float(v) for v in demos.state[i])
    return PickScene(
        (cube_x, cube_y), float(demos.cube_yaw_rad[i]), demos.color[i], (tray_x, tray_y), cube_z, tray_z
    )


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


def make_gripper_dataset(
    episodes: int, seed: int, out_dir: str | Path, progress: Callable[[int, int], None] | None = None
) -> GripperDemos:
    """Run the expert on `episodes` scenes drawn from `np.random.default_rng(seed)`, write them to
    `out_dir/DEMO_FILE` and return them."""
    demos = make_demos(episodes, seed, progress)
    write_gripper_demos(demos, Path(out_dir) / DEMO_FILE)
    return demos


def make_demos(episodes: int, seed: int, progress: Callable[[int, int], None] | None = None) -> GripperDemos:
    """The expert on `episodes` scenes drawn from `np.random.default_rng(seed)` (what make-gripper writes)."""
    demos = run_expert(episodes, np.random.default_rng(seed), progress)
    demos.meta["seed"] = seed
    return demos


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
    root = resources.files("trajtok_sim")
    digest = hashlib.sha256()
    for name in FINGERPRINT_FILES:
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


PICKPLACE = NamedSource(
    "pickplace",
    "pick-and-place demos of the scripted PyBullet expert (generated, then cached)",
    generate_pickplace,
    pickplace_fingerprint,
)


def register() -> None:
    """Make "pickplace" a load_source name (the CLI calls this; library users call it themselves)."""
    register_source(PICKPLACE)
