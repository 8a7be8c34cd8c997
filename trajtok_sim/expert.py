"""Scripted pick-and-place expert: a fixed sequence of phases, each a minimum-jerk move of the fingertip.

approach (above the cube) -> descend -> close -> lift -> transfer (above the tray) -> lower -> open
-> retreat.

Every phase has a fixed number of control steps, so every demonstration has the same length and its deltas are
a smooth function of the scene (cube and tray positions): easy for a model to learn from the state vector.
The plan depends only on the scene, not on observations, exactly like the open-loop policy that replays it.

Gripper channel: a *state* ("gripper commanded closed"), one bool per step, not a toggle event; a missed or
spurious token then only affects one step instead of inverting the rest of the episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajtok_sim.pick_place import PickConfig, PickScene


@dataclass(frozen=True)
class ExpertConfig:
    hover_m: float = 0.10  # fingertip height above the cube centre before descending
    grasp_dz_m: float = 0.0  # fingertip height relative to the cube centre when closing
    carry_z_m: float = 0.17  # fingertip height while carrying
    release_z_m: float = 0.10  # fingertip height at release (tray floor is at 0.01)
    retreat_z_m: float = 0.25
    approach_steps: int = 14
    descend_steps: int = 8
    close_steps: int = 5
    lift_steps: int = 7
    transfer_steps: int = 14
    lower_steps: int = 5
    open_steps: int = 4
    retreat_steps: int = 5


def minimum_jerk(n_steps: int) -> np.ndarray:
    """(n_steps,) fraction of the way travelled after each step: 0 -> 1, zero velocity at both ends."""
    tau = np.arange(1, n_steps + 1) / n_steps
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def expert_waypoints(scene: PickScene, config: ExpertConfig | None = None):
    """The phases as (fingertip goal xyz (3,), steps, gripper closed during the phase)."""
    config = config or ExpertConfig()
    cube = np.array([*scene.cube_xy_m, scene.cube_z_m])
    tray = np.array([*scene.tray_xy_m, scene.tray_z_m])
    above_cube = cube + [0, 0, config.hover_m]
    grasp = cube + [0, 0, config.grasp_dz_m]
    return [
        (above_cube, config.approach_steps, False),
        (grasp, config.descend_steps, False),
        (grasp, config.close_steps, True),
        (np.array([*cube[:2], config.carry_z_m]), config.lift_steps, True),
        (np.array([*tray[:2], config.carry_z_m]), config.transfer_steps, True),
        (np.array([*tray[:2], tray[2] + config.release_z_m]), config.lower_steps, True),
        (np.array([*tray[:2], tray[2] + config.release_z_m]), config.open_steps, False),
        (np.array([*tray[:2], config.retreat_z_m]), config.retreat_steps, False),
    ]


def expert_plan(
    scene: PickScene, sim: PickConfig | None = None, config: ExpertConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """-> (deltas (T, 3) float32 metres, gripper_closed (T,) bool) from the home pose of `sim`."""
    sim = sim or PickConfig()
    position = np.array(sim.home_xyz_m, float)
    path, closed = [], []
    for goal, steps, gripper in expert_waypoints(scene, config):
        path.append(position + np.outer(minimum_jerk(steps), goal - position))
        closed += [gripper] * steps
        position = goal
    points = np.concatenate([np.array(sim.home_xyz_m)[None], *path])
    return np.diff(points, axis=0).astype(np.float32), np.array(closed, bool)
