"""Gripper benchmark: the handwriting tokenizer on pick-and-place actions vs RT-2 / OpenVLA 256 uniform bins.

Demonstrations come from the scripted expert (the "pickplace" source: train and val scenes from separate
streams). The tokenizer table is bench/tokenizer.py's (`bench_dataset`: RMSE and end-point drift of
uniform / quantile / adaptive at 24 bins and uniform at 256, fitted on train, measured on val), plus adaptive
at 256 bins, so the comparison with uniform-256 is also made at the same vocabulary budget (256 ids per
dimension); its "target" lines are issue 2's handwriting targets, shown for reference. Then every val
demonstration is encoded, decoded and executed in PyBullet with each tokenizer: the fraction that still
puts the cube in the tray is what the quantization costs the task.

Units: metres. Drift: distance between the true and the decoded end point of an episode.
The last line is JSON.

    .venv/bin/python bench/gripper.py [--train 300] [--val 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from trajtok.tokenizer import TrajectoryTokenizer, measure
from trajtok_sim.demos import pickplace_demos, scene_of
from trajtok_sim.pick_place import PickPlaceSim


def tokenizer_bench():
    """bench/tokenizer.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_tokenizer", Path(__file__).with_name("tokenizer.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replay_success(tokenizer, demos, sim, error_feedback=True) -> float:
    """Share of demonstrations that still succeed after an encode -> decode round trip."""
    successes = 0
    for i in range(len(demos)):
        tokens = tokenizer.encode(demos.deltas[i], demos.gripper[i][:, None], error_feedback=error_feedback)
        deltas, events = tokenizer.decode(tokens)
        successes += sim.run(scene_of(demos, i), deltas, events[:, 0]).success
    return successes / len(demos)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=300, help="expert episodes to fit the bins on")
    parser.add_argument("--val", type=int, default=100, help="held-out expert episodes to measure and replay")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train = pickplace_demos("train", args.train, args.seed).to_sample_set("pickplace train")
    val_demos = pickplace_demos("val", args.val, args.seed)
    val = val_demos.to_sample_set("pickplace val")
    table = tokenizer_bench().bench_dataset("pickplace (scripted expert, metres)", train, val, repeats=3)

    tokenizers = {
        f"{scheme}-{n_bins}": TrajectoryTokenizer(
            train.dim_names, train.event_names, n_bins=n_bins, scheme=scheme
        ).fit(train.deltas())
        for scheme, n_bins in (("adaptive", 24), ("uniform", 24), ("uniform", 256), ("adaptive", 256))
    }
    reports = {name: measure(tok, val.deltas()) for name, tok in tokenizers.items()}
    a256, u256 = reports["adaptive-256"], reports["uniform-256"]
    print(
        f"adaptive-256  RMSE {a256.rmse:.4g} ({a256.rmse / u256.rmse:.3f} x uniform-256), "
        f"drift plain {a256.drift_plain:.4g}, feedback {a256.drift_feedback:.4g}"
    )

    print(f"\nreplay of {len(val_demos)} val demonstrations in PyBullet (encode -> decode -> execute):")
    with PickPlaceSim() as sim:
        expert = float(val_demos.success_rate)
        replay = {name: replay_success(tok, val_demos, sim) for name, tok in tokenizers.items()}
        replay["adaptive-24 (no error feedback)"] = replay_success(
            tokenizers["adaptive-24"], val_demos, sim, error_feedback=False
        )
    print(f"{'expert (no tokenizer)':<34} {expert:.3f}")
    for name, rate in replay.items():
        print(f"{name:<34} {rate:.3f}")

    a24 = reports["adaptive-24"]
    figures = {
        "dataset": "pickplace",
        "train_episodes": len(train),
        "val_episodes": len(val),
        "reconstruction_rmse_m": a24.rmse,
        "uniform256_reconstruction_rmse_m": u256.rmse,
        "rmse_ratio_vs_uniform256": a24.rmse / u256.rmse,
        "end_point_drift_m": a24.drift_feedback,
        "end_point_drift_plain_m": a24.drift_plain,  # no error feedback, as the gripper task trains
        "uniform256_end_point_drift_m": u256.drift_feedback,
        "uniform256_end_point_drift_plain_m": u256.drift_plain,
        "drift_ratio_vs_uniform256": a24.drift_feedback / u256.drift_feedback,
        "same_budget_rmse_ratio": a256.rmse / u256.rmse,
        "same_budget_drift_ratio": a256.drift_feedback / u256.drift_feedback,
        "vocab_per_dim": {"adaptive-24": 24, "uniform-256": 256},
        "expert_success_rate": expert,
        "replay_success_rate": replay,
        "tokenizer_table": table,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
