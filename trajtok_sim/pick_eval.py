"""Closed-loop evaluation of a trained gripper model: fresh scenes, generated actions, PyBullet outcome.

For each scene the model reads the instruction and the state vector (initial cube and tray positions) and
generates the whole action sequence open-loop (greedy by default); the actions run in the simulator and
the cube must end in the tray. The scripted expert runs on the same scenes for comparison.

Evaluation scenes come from their own random stream (`np.random.default_rng([seed, EVAL_STREAM])`), never
from the stream `make_gripper_dataset(seed=...)` draws demonstrations from, so they are unseen in training
whatever the seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.data.gripper import GRIPPER_DIMS, GRIPPER_EVENTS, STATE_CENTER_M, policy_state
from trajtok.errors import CheckpointError
from trajtok.sampling import Sampling
from trajtok.seeds import seed_after
from trajtok_sim.demos import instruction
from trajtok_sim.expert import expert_plan
from trajtok_sim.pick_place import PickConfig, PickPlaceSim, PickResult, PickScene, sample_scene

EVAL_STREAM = 7919


@dataclass
class PickEpisode:
    scene: PickScene
    instruction: str
    policy: PickResult
    expert: PickResult
    steps: int  # generated steps (before the end step)


@dataclass
class PickEvaluation:
    episodes: list[PickEpisode]

    @property
    def success_rate(self) -> float:
        return float(np.mean([e.policy.success for e in self.episodes]))

    @property
    def expert_success_rate(self) -> float:
        return float(np.mean([e.expert.success for e in self.episodes]))

    def summary(self) -> dict:
        return {
            "episodes": len(self.episodes),
            "success_rate": self.success_rate,
            "expert_success_rate": self.expert_success_rate,
            "relative_to_expert": self.success_rate / self.expert_success_rate
            if self.expert_success_rate
            else 0.0,
            "mean_steps": float(np.mean([e.steps for e in self.episodes])),
        }

    def plot(self, path, n: int = 20) -> Path:
        """The first `n` episodes from above (trajtok.plot.plot_pick_episodes) as a PNG."""
        from trajtok.plot import plot_pick_episodes

        shown = self.episodes[:n]
        return plot_pick_episodes(
            [e.policy.fingertip_xyz_m for e in shown],
            [e.expert.fingertip_xyz_m for e in shown],
            np.array([e.scene.cube_xy_m for e in shown]),
            np.array([e.policy.cube_xyz_m[:2] for e in shown]),
            np.array([e.scene.tray_xy_m for e in shown]),
            PickConfig().tray_inner_half_m,
            np.array([e.policy.success for e in shown]),
            path,
            title=f"{len(shown)} of {len(self.episodes)} fresh scenes: model {self.success_rate:.0%}, "
            f"expert {self.expert_success_rate:.0%} (blue: model fingertip, dashed: expert)",
        )


def evaluation_scenes(
    episodes: int, seed: int, config: PickConfig | None = None
) -> list[tuple[PickScene, str]]:
    """`episodes` (scene, instruction) pairs from the evaluation stream of `seed`."""
    rng = np.random.default_rng([seed, EVAL_STREAM])
    scenes = [sample_scene(rng, config) for _ in range(episodes)]
    return [(scene, instruction(scene.color, rng)) for scene in scenes]


def check_gripper_model(writer) -> None:
    """Refuse a model that does not emit gripper actions or does not read the pick-and-place state."""
    writer.tokenizer.check_fits(GRIPPER_DIMS, GRIPPER_EVENTS, where="checkpoint")
    state_dim = writer.model.config.state_dim
    if state_dim != len(STATE_CENTER_M):
        raise CheckpointError(
            f"checkpoint: model.state_dim={state_dim}, but pick-and-place scenes give a state vector of "
            f"{len(STATE_CENTER_M)} (cube and tray xyz); train it with `trajtok train gripper`"
        )


def evaluate_pick(
    writer,
    episodes: int,
    seed: int,
    temperature: float = 0.0,
    batch_size: int = 25,
    progress: Callable[[int, int], None] | None = None,
) -> PickEvaluation:
    """Run `writer` (a trajtok.generate.Writer of a state-conditioned gripper model) on fresh scenes.

    Each episode may take up to twice the expert's number of steps; `progress(done, total)` after each.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    check_gripper_model(writer)
    config = PickConfig()
    pairs = evaluation_scenes(episodes, seed, config)
    plans = [expert_plan(scene, config) for scene, _ in pairs]
    max_steps = 2 * max(len(deltas) for deltas, _ in plans)
    results = []
    with PickPlaceSim(config) as sim:
        for start in range(0, episodes, batch_size):
            chunk = pairs[start : start + batch_size]
            states = policy_state(np.stack([scene.state() for scene, _ in chunk]))
            written = writer.write(
                [text for _, text in chunk],
                Sampling(temperature=temperature, seed=seed_after(seed, start), max_steps=max_steps),
                state=states,
            )
            for (scene, text), sample, plan in zip(
                chunk, written, plans[start : start + batch_size], strict=True
            ):
                results.append(
                    PickEpisode(
                        scene=scene,
                        instruction=text,
                        policy=sim.run(scene, sample.deltas, sample.events[:, 0]),
                        expert=sim.run(scene, *plan),
                        steps=len(sample),
                    )
                )
                if progress:
                    progress(len(results), episodes)
    return PickEvaluation(results)
