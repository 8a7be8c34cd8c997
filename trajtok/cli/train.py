"""`trajtok train handwriting | gripper | multitask | recognizer`: train into a run dir, or resume one."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from trajtok.cli import allow_intermixed
from trajtok.cli.output_files import output_folder
from trajtok.tasks import task_names

RECOGNIZER = "recognizer"  # trajtok.recognizer_train: its own settings (RecognizerTrainConfig)

HELP = """Train a model: the text-conditioned stroke transformer (handwriting, gripper, multitask), or the
handwriting recognizer.

Settings: the defaults in code (trajtok/train_config.py, the model's in trajtok/model.py), then the task's
file (trajtok/tasks/TASK.yaml: only what differs), then --config FILE, then key=value overrides (nested keys
with dots: model.d_model=192 data.n_train=4000 loss.attention_weight=0). --print-config prints the result.
The run directory gets config.yaml, tokenizer.json, metrics.jsonl, checkpoints/latest.pt + best.pt
(+ stepNNNNNN.pt snapshots), samples/*.png and attention/*.png. --resume RUN_DIR continues a stopped
run exactly where its last checkpoint left it (its config.yaml, plus overrides such as steps=N to go on).
Runs unchanged under `torchrun --nproc_per_node=N` (DDP).
`trajtok train gripper` starts from the gripper settings (trajtok/tasks/gripper.yaml): pick-and-place
demos, conditioned on the instruction plus the cube/tray state vector (then `trajtok sim pick --checkpoint
RUN_DIR`). data.source=PATH trains on a robot dataset instead (demo file, robomimic, LeRobot), with its
loader options as data.options.KEY=VALUE (e.g. data.options.events=none).
`trajtok train multitask` trains one model that writes and reads (trajtok/tasks/multitask.yaml: the
handwriting settings plus model.reads=true): `trajtok write` and `trajtok recognize` both take its run.
`trajtok train recognizer` trains the handwriting reader (strokes -> text, CTC): the defaults in
trajtok/recognizer_train.py (RecognizerTrainConfig), configs/recognizer.yaml is the shipped run; the run
directory gets config.yaml, metrics.jsonl, checkpoints/latest.pt + best.pt (lowest validation CER); then
`trajtok recognize FILE --checkpoint RUN_DIR`.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model: handwriting, gripper, multitask or recognizer (run dir, checkpoints, metrics)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", choices=[*task_names(), RECOGNIZER], help="what to train")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--config", metavar="FILE", help="YAML config (default: the defaults in code)")
    p.add_argument(
        "--run-dir",
        type=output_folder,
        metavar="DIR",
        help="where the run goes (default: runs/<task>-<time>)",
    )
    p.add_argument(
        "--resume",
        type=output_folder,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its latest checkpoint",
    )
    p.add_argument("--overfit", type=int, metavar="N", help="train on N fixed samples (debugging)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    p.set_defaults(func=run)
    allow_intermixed(p)  # key=value overrides may also come after the options


def run(args: argparse.Namespace) -> int:
    import yaml

    from trajtok.config import load_config, to_dict
    from trajtok.errors import ConfigError

    if args.task == RECOGNIZER:
        from trajtok.recognizer_train import RecognizerTrainConfig as config_class
    else:
        from trajtok.train_config import TrainConfig as config_class

    overrides = list(args.overrides) + ([f"overfit={args.overfit}"] if args.overfit is not None else [])
    if args.resume:
        if args.config or args.run_dir:
            raise ConfigError(
                "--resume RUN_DIR takes the run's own config.yaml and directory; drop --config/--run-dir"
            )
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").is_file():
            problem = "no such folder" if not run_dir.exists() else "not a run directory (no config.yaml)"
            raise ConfigError(f"{run_dir}: {problem}; --resume takes the folder a `trajtok train` run made")
        config = load_config(config_class, run_dir / "config.yaml", overrides)
    else:
        if args.task == RECOGNIZER:
            config = load_config(config_class, args.config, overrides)
        else:
            from trajtok.train_config import load_train_config

            config = load_train_config(args.task, args.config, overrides)
        run_dir = Path(args.run_dir or f"runs/{args.task}-{time.strftime('%Y%m%d-%H%M%S')}")
    if args.print_config:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
        return 0
    if args.task == RECOGNIZER:
        return run_recognizer(config, run_dir, bool(args.resume))
    from trajtok.run_curves import CURVES_FILE
    from trajtok.train import train

    is_main = int(os.environ.get("RANK", "0")) == 0
    if is_main:
        prepare_data(config)
    bar = ProgressBar() if is_main else None
    try:
        summary = train(config, run_dir, resume=bool(args.resume), progress=bar)
    finally:
        if bar:
            bar.close()
    if is_main:
        minutes = summary.train_seconds / 60
        train_loss = last_loss(summary.train_loss, "train loss")
        print(
            f"trained {summary.step} steps in {minutes:.1f} min ({summary.n_parameters:,} parameters, "
            f"{summary.n_train:,} training samples): {train_loss}, "
            f"validation loss {summary.val_loss:.3f} (best {summary.best_val_loss:.3f})"
        )
        if not math.isnan(summary.train_eval_loss):
            gap = summary.val_loss - summary.train_eval_loss
            print(
                f"on training samples, unaugmented, as validation measures: {summary.train_eval_loss:.3f} "
                f"(validation - training: {gap:.3f})"
            )
        if summary.dropped:
            print(f"dropped training samples: {summary.dropped}")
        print(f"run directory: {summary.run_dir} (training curves: {CURVES_FILE})")
    return 0


def last_loss(value: float, name: str) -> str:
    """`name value`, or what a finished run resumed has instead: no step taken now (the summary's NaN)."""
    return "no step left to take" if math.isnan(value) else f"{name} {value:.3f}"


def prepare_data(config) -> None:
    """Build (and cache) the training and validation sets first, with a progress bar: a generated source
    such as pickplace takes minutes on first use; train() then reads them from the cache."""
    from trajtok.cli.progress import progress_bar
    from trajtok.train import load_samples

    if config.data.source == "hershey":  # streamed, not cached: train() builds it
        return
    for split, n in (("train", config.overfit or config.data.n_train), ("val", config.data.n_val)):
        with progress_bar(f"preparing {config.data.source} ({split})", "sample") as progress:
            load_samples(config.data, split, n, config.seed, progress)


def run_recognizer(config, run_dir: Path, resume: bool) -> int:
    from trajtok.recognizer_train import train_recognizer
    from trajtok.run_curves import CURVES_FILE

    bar = ProgressBar()
    try:
        summary = train_recognizer(config, run_dir, resume=resume, progress=bar)
    finally:
        bar.close()
    train_loss = last_loss(summary.train_loss, "train CTC loss")
    print(
        f"trained {summary.step} steps in {summary.train_seconds / 60:.1f} min ({summary.n_parameters:,} "
        f"parameters, {summary.n_train:,} training samples): {train_loss}, "
        f"validation CER {summary.val_cer:.4f} (best {summary.best_val_cer:.4f})"
    )
    if summary.dropped:
        print(f"dropped training samples: {summary.dropped}")
    print(f"run directory: {summary.run_dir} (training curves: {CURVES_FILE})")
    return 0


class ProgressBar:
    """The `progress` callback of trajtok.train.train: a tqdm bar on stderr with loss, steps/s and ETA."""

    def __init__(self):
        self.bar = None

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, initial=step, unit="step", file=sys.stderr, dynamic_ncols=True)
        self.bar.update(step - self.bar.n)
        if metrics:
            shown = {k: f"{v:.3f}" for k, v in metrics.items() if v == v}  # skip NaN (no validation yet)
            self.bar.set_postfix(shown, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
