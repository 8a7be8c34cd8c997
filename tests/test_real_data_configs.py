"""The configs people copy for real pen data: configs/handwriting-wordbank.yaml (a word bank of one writer,
CPU-sized) and configs/handwriting-iamondb.yaml (IAM-OnDB lines, GPU-sized) parse, hold what they promise,
and the IAM one trains a step on the IAM-OnDB fixture."""

import json
from pathlib import Path

import numpy as np

from trajtok.train import initial_checkpoint, train
from trajtok.train_config import TrainConfig, load_train_config

CONFIGS = Path(__file__).parents[1] / "configs"
IAM = Path(__file__).parent / "fixtures" / "handwriting" / "iam"


def test_the_bigbank_config_stitches_augments_and_fine_tunes_the_shipped_model():
    config = load_train_config("handwriting", CONFIGS / "handwriting-wordbank.yaml")
    assert config.data.source == "bigbank" and config.data.words_per_sample == [1, 4]
    assert config.data.augment.applies_to(config.data.source)
    assert config.model == TrainConfig().model and config.steps <= TrainConfig().steps
    assert config.init_from == "shipped"
    start = initial_checkpoint(config)  # its model settings are the shipped model's, or this refuses
    assert start.path.name == "model.pt" and start.tokenizer.n_channels == 3


def test_the_iamondb_config_parses_as_a_gpu_sized_line_model():
    config = load_train_config("handwriting", CONFIGS / "handwriting-iamondb.yaml")
    default = TrainConfig()
    assert config.data.words_per_sample == [1, 1] and config.data.augment.applies_to("some/IAM-OnDB")
    assert config.model.d_model > default.model.d_model and config.model.max_steps > default.model.max_steps
    assert config.model.max_text >= 80  # IAM-OnDB lines run to about 80 characters


def iam_with_splits(tmp_path: Path) -> Path:
    """The IAM-OnDB fixture (linked) with IAM-OnDB-t1 lists: form a01-000u trains, b02-010 validates."""
    root = tmp_path / "IAM-OnDB"
    root.mkdir()
    for folder in ("ascii", "lineStrokes"):
        (root / folder).symlink_to((IAM / folder).resolve(), target_is_directory=True)
    (root / "trainset.txt").write_text("a01-000u\n")
    (root / "testset_v.txt").write_text("b02-010\n")
    return root


def test_the_iamondb_config_trains_one_step_on_the_fixture(tmp_path, one_torch_thread):
    """The config's model and data settings as they are; only the size of a batch (the fixture holds two
    training lines), the step count and the end-of-run sample phrases (an untrained model writes until its
    budget runs out) are set for the test."""
    overrides = [f"data.source={iam_with_splits(tmp_path)}", "steps=1", "batch_size=2", "sample_phrases="]
    config = load_train_config("handwriting", CONFIGS / "handwriting-iamondb.yaml", overrides)
    summary = train(config, tmp_path / "run")
    assert summary.step == 1 and summary.n_train == 2 and np.isfinite(summary.val_loss)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any(m["kind"] == "train" and np.isfinite(m["loss"]) for m in metrics)
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()
