"""Action tokenizers side by side: adaptive (per step), uniform-256 (RT-2), dct (FAST) and bspline (BEAST).

On the gripper demos (scripted pick-and-place, 10 Hz), a real robot dataset from ../shared/data/robot_formats
when present (LeRobot v2.1 Unitree G1, 26 joint-space action dims, at its fps) and handwriting (the embedded
hershey corpus; bigbank when present). Tokenizers are fitted on a train split and measured on held-out
trajectories. The chunk schemes' settings are chosen per dataset for error comparable to adaptive-24: the
coarsest dct `scale` / fewest bspline `n_control` whose per-step RMSE is within 1.1 x adaptive's (else the
finest tried). Figures per scheme:
- tokens per step and per second of motion, compression = per-step binning's tokens / the scheme's;
- per-step reconstruction RMSE (plain encoding) and mean end-point drift (with error feedback);
- decode validity: held-out sequences with 1 / 5 / 20 % of their tokens replaced by random ids; the share that
  decodes without error inside the data's range, and `silent_bad` = decoded without error to a delta outside
  the range the tokenizer declares (the fitted range; chunk schemes: widened by RANGE_MARGIN of its span);
- encode + decode speed (steps/s) on one core;
- adaptive RMSE / the Lloyd-Max limit (pooled over dims, held-out deltas; target <= 1.1), beside what
  Lloyd-Max fitted on the training deltas reaches on the held-out ones (the split's own gap).
Closed loop (`--closed-loop-minutes M > 0`): per scheme a gripper policy trained for about M minutes of wall
time (steps calibrated per scheme, threads=1), then `trajtok sim pick` 50 episodes x 2 seeds; and a small
handwriting model per scheme for the same time, judged by Tesseract CER (bench/legibility.py) and by the
shipped recognizer. Compute-heavy.

    nice -n 5 .venv/bin/python bench/action_tokenizers.py [--closed-loop-minutes 3] [--perturbed 60]

Last line: JSON with adaptive_limit_ratio (worst dataset), dct_compression, bspline_compression,
silent_bad_decodes, pick_success_<scheme>, cer_<scheme> (Tesseract), recognizer_cer_<scheme>, and
every dataset's table under "datasets".
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy / tokenizers load

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from trajtok.binning import best_lloyd_max, lloyd_max_rmse, quantizer_rmse  # noqa: E402
from trajtok.chunk_tokenizer import RANGE_MARGIN, ChunkTokenizer  # noqa: E402
from trajtok.data import bigbank_path, load_source, repo_root  # noqa: E402
from trajtok.round_trip import measure_round_trip  # noqa: E402
from trajtok.tokenizer import TrajectoryTokenizer  # noqa: E402

ROBOT = repo_root().parent / "shared" / "data" / "robot_formats" / "lerobot" / "v21_g1_policy_train"
SCHEMES = ("adaptive", "uniform256", "dct", "bspline")
DCT_SCALES = (2.0, 4.0, 7.0, 10.0, 16.0, 25.0, 40.0, 64.0)
BSPLINE_CONTROLS = (4, 5, 6, 7, 8, 10)
CHUNK = 10
PERTURB = (0.01, 0.05, 0.2)


@dataclass
class Dataset:
    name: str
    dim_names: tuple
    event_names: tuple
    train: tuple  # (deltas list, events list)
    held_out: tuple
    rate_hz: float | None  # control rate, None when the data has none (handwriting)


# ---- datasets ------------------------------------------------------------------------------------------
def sample_set_data(name: str, train, held_out, rate_hz) -> Dataset:
    return Dataset(
        name,
        train.dim_names,
        train.event_names,
        (train.deltas(), train.events()),
        (held_out.deltas(), held_out.events()),
        rate_hz,
    )


def robot_data() -> Dataset | None:
    """The G1 humanoid's 26-D joint actions as per-step deltas (no events), episodes split 80 / 20."""
    if not ROBOT.is_dir():
        return None
    import pyarrow.parquet as pq

    info = json.loads((ROBOT / "meta" / "info.json").read_text())
    names = info["features"]["action"]["names"]
    names = names if isinstance(names, list) else next(iter(names.values()))
    names = tuple(names[0] if names and isinstance(names[0], list) else names)
    episodes = []
    for file in sorted((ROBOT / "data").rglob("*.parquet")):
        actions = np.array(pq.read_table(file, columns=["action"]).column("action").to_pylist(), np.float64)
        episodes.append(np.diff(actions, axis=0).astype(np.float32))
    n_train = int(0.8 * len(episodes))
    none = lambda part: [np.zeros((len(d), 0), bool) for d in part]  # noqa: E731
    train, held_out = episodes[:n_train], episodes[n_train:]
    return Dataset(
        "lerobot G1 (26-D joints)", names, (), (train, none(train)), (held_out, none(held_out)), info["fps"]
    )


def datasets(args) -> list[Dataset]:
    from trajtok_sim.demos import pickplace_demos

    out = [
        sample_set_data(
            "gripper (pickplace demos)",
            pickplace_demos("train", args.gripper_n, 0).to_sample_set("pickplace train"),
            pickplace_demos("val", 100, 0).to_sample_set("pickplace val"),
            10.0,
        )
    ]
    robot = robot_data()
    if robot is None:
        print(f"robot dataset skipped: {ROBOT} is absent")
    else:
        out.append(robot)
    out.append(
        sample_set_data(
            "hershey (embedded)",
            load_source("hershey", split="train", n=args.hershey_n),
            load_source("hershey", split="val"),
            None,
        )
    )
    if bigbank_path().is_file():
        train, val = load_source("bigbank", split="train"), load_source("bigbank", split="val")
        out.append(sample_set_data("bigbank (cursive)", train, val, None))
    else:
        print(f"bigbank skipped: {bigbank_path()} is absent")
    return out


# ---- one tokenizer on one dataset -----------------------------------------------------------------------
def tokens_per_step(tokens: list, n_steps: int) -> float:
    return sum(t.size for t in tokens) / n_steps


def reconstruction(tokenizer, deltas, events) -> dict:
    report = measure_round_trip(tokenizer, deltas, events)
    return {"rmse": report.rmse, "drift": report.drift_feedback}


def declared_range(tokenizer, train_deltas) -> np.ndarray:
    if isinstance(tokenizer, ChunkTokenizer):
        return tokenizer.value_range
    stacked = np.concatenate(train_deltas)
    return np.stack([stacked.min(0), stacked.max(0)], 1)


def validity(tokenizer, deltas, events, train_deltas, n_sequences: int, seed: int = 0) -> dict:
    """Perturb held-out token sequences; count clean decodes, errors and silent out-of-range decodes."""
    rng = np.random.default_rng(seed)
    allowed = declared_range(tokenizer, train_deltas)
    tokens = tokenizer.encode_batch(deltas[:n_sequences], events[:n_sequences], add_eos=True)
    limits = np.array(tokenizer.vocab_sizes)
    out = {}
    for share in PERTURB:
        ok = errors = silent_bad = wrong_length = 0
        for t, true in zip(tokens, deltas, strict=False):
            bad = t.copy()
            cells = bad.reshape(len(bad), -1)
            n = max(1, round(share * cells.size))
            flat = rng.choice(cells.size, n, replace=False)
            rows, cols = np.unravel_index(flat, cells.shape)
            cells[rows, cols] = rng.integers(0, limits[cols])
            try:
                decoded, _ = tokenizer.decode(bad)
            except ValueError:
                errors += 1
                continue
            inside = bool(np.all((decoded >= allowed[:, 0]) & (decoded <= allowed[:, 1])))
            ok += inside
            silent_bad += not inside
            wrong_length += len(decoded) != len(true)
        total = len(tokens)
        out[f"{int(share * 100)}%"] = {
            "valid_share": ok / total,
            "error_share": errors / total,
            "silent_bad": silent_bad,
            "wrong_length_share": wrong_length / total,
        }
    return out


def speed(tokenizer, deltas, events) -> float:
    n_steps = sum(len(d) for d in deltas)
    return n_steps / _bench_module("tokenizer.py").best_seconds(
        lambda: tokenizer.decode_batch(tokenizer.encode_batch(deltas, events)), 2
    )


def fit_chunk(data: Dataset, scheme: str, target_rmse: float) -> tuple[ChunkTokenizer, dict, str]:
    """The coarsest setting whose plain RMSE is within 1.1 x the target (else the finest tried)."""
    grid = DCT_SCALES if scheme == "dct" else BSPLINE_CONTROLS
    best = None
    for value in grid:
        setting = {"scale": value} if scheme == "dct" else {"n_control": value}
        tokenizer = ChunkTokenizer(data.dim_names, data.event_names, scheme, chunk=CHUNK, **setting)
        try:
            tokenizer.fit(*data.train)
        except ValueError:  # dct: too many coefficient values for the BPE vocabulary at this scale
            break
        recon = reconstruction(tokenizer, *data.held_out)
        best = (tokenizer, recon, ", ".join(f"{k}={v:g}" for k, v in setting.items()))
        if recon["rmse"] <= 1.1 * target_rmse:
            break
    return best


def bench_dataset(data: Dataset, args) -> dict:
    n_steps = sum(len(d) for d in data.held_out[0])
    print(
        f"\n== {data.name}: {len(data.train[0])} train / {len(data.held_out[0])} held-out trajectories, "
        f"{n_steps:,} held-out steps, {len(data.dim_names)} dims, events {data.event_names or 'none'}, "
        f"rate {f'{data.rate_hz:g} Hz' if data.rate_hz else 'none'}"
    )
    adaptive = TrajectoryTokenizer(data.dim_names, data.event_names, 24, "adaptive").fit(data.train[0])
    uniform = TrajectoryTokenizer(data.dim_names, data.event_names, 256, "uniform").fit(data.train[0])
    rows = {"adaptive": (adaptive, reconstruction(adaptive, *data.held_out), "24 bins")}
    rows["uniform256"] = (uniform, reconstruction(uniform, *data.held_out), "256 bins")
    for scheme in ("dct", "bspline"):
        rows[scheme] = fit_chunk(data, scheme, rows["adaptive"][1]["rmse"])
    per_step_tokens = len(data.dim_names) + len(data.event_names)
    table = {}
    print(
        f"{'scheme':<11} {'setting':<14} {'tok/step':>8} {'tok/s':>8} {'compr.':>7} {'RMSE':>9} {'drift':>9} "
        f"{'valid 1/5/20 %':>17} {'silent':>6} {'steps/s':>9}"
    )
    for scheme, (tokenizer, recon, setting) in rows.items():
        tokens = tokenizer.encode_batch(*data.held_out)
        per_step = tokens_per_step(tokens, n_steps)
        valid = validity(tokenizer, *data.held_out, data.train[0], args.perturbed)
        figures = {
            "setting": setting,
            "tokens_per_step": per_step,
            "tokens_per_s": per_step * data.rate_hz if data.rate_hz else None,
            "compression": per_step_tokens / per_step,
            **recon,
            "validity": valid,
            "silent_bad": sum(v["silent_bad"] for v in valid.values()),
            "steps_per_s": speed(tokenizer, *data.held_out),
        }
        table[scheme] = figures
        shares = "/".join(f"{v['valid_share']:.2f}" for v in valid.values())
        tok_s = f"{figures['tokens_per_s']:8.1f}" if data.rate_hz else f"{'-':>8}"
        print(
            f"{scheme:<11} {setting:<14} {per_step:8.3f} {tok_s} {figures['compression']:7.2f} "
            f"{recon['rmse']:9.4g} {recon['drift']:9.4g} {shares:>17} {figures['silent_bad']:6d} "
            f"{figures['steps_per_s']:9.3g}"
        )
    fit, held = np.concatenate(data.train[0]), np.concatenate(data.held_out[0])
    # per dim: adaptive, the limit (Lloyd-Max fitted on the held-out deltas themselves) and the best a
    # quantizer fitted on the training deltas can do there (Lloyd-Max fitted on train): what the gap between
    # the splits costs any train-fitted quantizer
    per_dim = np.array(
        [
            (
                quantizer_rmse(b, held[:, j]),
                lloyd_max_rmse(held[:, j], 24),
                quantizer_rmse(best_lloyd_max(fit[:, j], 24), held[:, j]),
            )
            for j, b in enumerate(adaptive.bins)
        ]
    )
    pooled = np.sqrt(np.mean(per_dim**2, axis=0))
    ratio, train_lloyd_ratio = float(pooled[0] / pooled[1]), float(pooled[2] / pooled[1])
    worst_dim = float(np.max(per_dim[:, 0] / per_dim[:, 1]))
    print(
        f"adaptive-24 RMSE / Lloyd-Max limit (held-out, pooled over dims): {ratio:.3f} (target <= 1.1: "
        f"{'met' if ratio <= 1.1 else 'MISSED'}); worst single dim {worst_dim:.3f}; "
        f"fitted on {len(fit):,} deltas. Lloyd-Max fitted on the training deltas reaches "
        f"{train_lloyd_ratio:.3f} x the limit on the held-out ones (adaptive / that: "
        f"{ratio / train_lloyd_ratio:.3f})"
    )
    return {
        "schemes": table,
        "adaptive_limit_ratio": ratio,
        "adaptive_limit_ratio_worst_dim": worst_dim,
        "train_lloyd_limit_ratio": train_lloyd_ratio,
    }


# ---- closed loop ---------------------------------------------------------------------------------------
def scheme_overrides(scheme: str) -> list[str]:
    if scheme == "adaptive":
        return ["tokenizer.scheme=adaptive"]
    if scheme == "uniform256":
        return ["tokenizer.scheme=uniform", "tokenizer.n_bins=256"]
    return [f"tokenizer.scheme={scheme}", f"tokenizer.chunk={CHUNK}", "tokenizer.n_control=4"]


def train_for(task: str, overrides: list[str], minutes: float, run_dir: Path) -> tuple[Path, dict]:
    """Train about `minutes` of wall time: 20 calibration steps, then that pace's number of steps."""
    from trajtok.train import train
    from trajtok.train_config import load_train_config

    probe = load_train_config(task, None, [*overrides, "steps=20", "checkpoint_every=20", "sample_every=0"])
    probe_dir = run_dir.with_name(run_dir.name + "_probe")
    train(probe, probe_dir)
    lines = (probe_dir / "metrics.jsonl").read_text().splitlines()
    pace = [json.loads(line) for line in lines if json.loads(line)["kind"] == "train"][-1]["steps_per_s"]
    steps = max(20, int(minutes * 60 * pace))  # the training loop's own pace, not the data preparation
    config = load_train_config(
        task, None, [*overrides, f"steps={steps}", f"checkpoint_every={steps}", "sample_every=0"]
    )
    start = time.perf_counter()
    train(config, run_dir)
    return run_dir, {"steps": steps, "train_s": time.perf_counter() - start}


def closed_loop(args) -> dict:
    from trajtok.generate import Writer
    from trajtok.recognize import Recognizer
    from trajtok.text_metrics import cer as text_cer
    from trajtok_sim.demos import register
    from trajtok_sim.pick_eval import evaluate_pick

    register()  # the pickplace source the gripper task trains on, as the CLI registers it
    legibility = _bench_module("legibility.py")
    reader = Recognizer.from_checkpoint(None)
    from trajtok.data.hershey import VALIDATION_PHRASES

    results = {}
    root = Path(tempfile.mkdtemp(prefix="action_tokenizers_"))
    sizes = [
        "threads=1",
        "model.d_model=96",
        "model.d_ff=192",
        "model.n_enc_layers=1",
        "model.n_dec_layers=3",
    ]
    phrases = list(VALIDATION_PHRASES[: args.cer_phrases])
    print(
        f"\n== closed loop: per scheme ~{args.closed_loop_minutes:g} min of training (threads=1, model "
        f"{' '.join(sizes[1:])}), pick 50 episodes x seeds 1, 2; handwriting CER on {len(phrases)} phrases"
    )
    for scheme in SCHEMES:
        run, facts = train_for(
            "gripper", [*sizes, *scheme_overrides(scheme)], args.closed_loop_minutes, root / f"pick_{scheme}"
        )
        writer = Writer.from_checkpoint(run)
        rates = [evaluate_pick(writer, 50, seed).success_rate for seed in (1, 2)]
        results[f"pick_success_{scheme}"] = float(np.mean(rates))
        results[f"pick_{scheme}_run"] = {**facts, "by_seed": rates}
        print(
            f"{scheme:<11} pick success {results[f'pick_success_{scheme}']:.3f} (seeds 1, 2: {rates}) after "
            f"{facts['steps']} steps / {facts['train_s']:.0f} s of training"
        )
        if not phrases:
            continue
        hw_sizes = [*sizes, "data.n_train=3000", "sample_phrases=[]"]
        run, facts = train_for(
            "handwriting",
            [*hw_sizes, *scheme_overrides(scheme)],
            args.closed_loop_minutes,
            root / f"hw_{scheme}",
        )
        (root / f"ocr_{scheme}").mkdir()
        cer, reads, _, written = legibility.score_checkpoint(run, phrases, 0.0, 0, root / f"ocr_{scheme}")
        recognizer_cer = text_cer([r.text for r in reader.recognize(written)], phrases)
        results[f"cer_{scheme}"] = float(cer)
        results[f"recognizer_cer_{scheme}"] = float(recognizer_cer)
        results[f"hw_{scheme}_run"] = {**facts, "reads": reads}
        print(
            f"{scheme:<11} handwriting CER {cer:.3f} (Tesseract), {recognizer_cer:.3f} (the shipped "
            f"recognizer) after {facts['steps']} steps / {facts['train_s']:.0f} s"
        )
    return results


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{Path(name).stem}", Path(__file__).with_name(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gripper-n", type=int, default=300, help="pickplace train demos")
    parser.add_argument("--hershey-n", type=int, default=2000, help="hershey train samples")
    parser.add_argument("--perturbed", type=int, default=60, help="held-out sequences perturbed per share")
    parser.add_argument("--closed-loop-minutes", type=float, default=0.0, help="0 = skip the closed loop")
    parser.add_argument("--cer-phrases", type=int, default=8, help="phrases read by Tesseract; 0 = no CER")
    parser.add_argument("--skip-static", action="store_true", help="only the closed loop (with its minutes)")
    args = parser.parse_args()
    tables = {} if args.skip_static else {data.name: bench_dataset(data, args) for data in datasets(args)}
    loop = closed_loop(args) if args.closed_loop_minutes > 0 else None
    if not tables:
        print(json.dumps(loop or {}))
        return
    summary = {
        "adaptive_limit_ratio": max(t["adaptive_limit_ratio"] for t in tables.values()),
        "adaptive_limit_ratio_target": 1.1,
        "silent_bad_decodes": sum(s["silent_bad"] for t in tables.values() for s in t["schemes"].values()),
        "range_margin": RANGE_MARGIN,
        "chunk": CHUNK,
    }
    for scheme in ("dct", "bspline"):  # against per-step binning, the worst and each dataset
        compressions = {name: t["schemes"][scheme]["compression"] for name, t in tables.items()}
        summary[f"{scheme}_compression"] = min(compressions.values())
        summary[f"{scheme}_compression_by_dataset"] = compressions
    summary["adaptive_limit_ratio_by_dataset"] = {n: t["adaptive_limit_ratio"] for n, t in tables.items()}
    summary["train_lloyd_limit_ratio_by_dataset"] = {
        n: t["train_lloyd_limit_ratio"] for n, t in tables.items()
    }
    if loop is not None:
        summary.update(loop)
    else:
        print(
            "\nclosed loop skipped (--closed-loop-minutes 0): pick_success_<scheme> and cer_<scheme> are null"
        )
        summary.update({f"pick_success_{s}": None for s in SCHEMES})
    summary["datasets"] = tables
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
