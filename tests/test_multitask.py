"""One model both ways (`trajtok train multitask`, model.reads): it writes like the writer and reads its own
step tokens back through the Recognizer, in Python and on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trajtok.checkpoint import load_checkpoint
from trajtok.cli import main
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.errors import ConfigError
from trajtok.model import READ_FRAMES, StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.recognize import Recognizer, UnreadableSample
from trajtok.sample import Sample
from trajtok.train import load_unthinned, train
from trajtok.train_config import TrainConfig, load_train_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"


def tiny(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, TINY, ["model.reads=true", *overrides])


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory):
    """A tiny multitask model overfit on 5 samples (about half a minute), and those samples unthinned."""
    torch.set_num_threads(1)
    config = tiny("overfit=5", "steps=400", "lr=0.006", "warmup_steps=10", "checkpoint_every=400")
    run_dir = tmp_path_factory.mktemp("multitask") / "run"
    train(config, run_dir)
    return run_dir, load_unthinned(config.data, "train", 5, config.seed).samples


def test_the_multitask_task_is_the_writer_that_also_reads():
    config = load_train_config("multitask")
    assert config.model.reads and config.loss.read_weight > 0
    assert load_train_config("handwriting").model.reads is False
    with pytest.raises(ConfigError, match="model.reads: a model conditioned on a state vector"):
        load_train_config("gripper", None, ["model.reads=true"])
    with pytest.raises(ConfigError, match="loss.read_weight must be >= 0"):
        tiny("loss.read_weight=-1")


def test_an_overfit_multitask_model_reads_its_samples_back_exactly_and_writes_them(overfit_run):
    run_dir, samples = overfit_run
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last = [m for m in metrics if m["kind"] == "train"][-1]
    assert last["loss_read"] < 0.05 and last["loss_dx"] + last["loss_dy"] < 0.2
    assert all(m["val_read_cer"] >= 0 for m in metrics if m["kind"] == "val")  # unseen texts: not read yet

    recognizer = Recognizer.from_checkpoint(run_dir)
    texts = [s.text for s in samples]
    assert [r.text for r in recognizer.recognize(samples)] == texts
    assert [r.text for r in recognizer.recognize(samples, beam=4)] == texts
    assert all(r.confidence > 0.5 for r in recognizer.recognize(samples))
    assert load_checkpoint(run_dir).model_config.reads  # the same file is the writer


def test_reading_a_padded_batch_gives_each_sample_what_it_gets_alone():
    torch.manual_seed(0)
    model = StrokeTransformer(ModelConfig(d_model=32, n_heads=2, n_dec_layers=2, reads=True), 40, (9, 9, 2))
    model.eval()
    tokens = torch.randint(0, 2, (2, 7, 3))
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    batch, frames = model.read(tokens, mask)
    alone, alone_frames = model.read(tokens[1:, :4], mask[1:, :4])
    assert frames.tolist() == [7 * READ_FRAMES, 4 * READ_FRAMES] and alone_frames.tolist() == [
        4 * READ_FRAMES
    ]
    torch.testing.assert_close(batch[1, : 4 * READ_FRAMES], alone[0], atol=1e-5, rtol=1e-5)
    writer_only = StrokeTransformer(ModelConfig(d_model=32, n_heads=2), 40, (9, 9, 2))
    with pytest.raises(ValueError, match="trained to write only"):
        writer_only.read(tokens, mask)


def test_a_sample_longer_than_the_model_reads_is_named(overfit_run):
    recognizer = Recognizer.from_checkpoint(overfit_run[0])
    long = synthesize("abcdefghijklmnopqrstuvwxyz" * 3, 0, seed=1)
    with pytest.raises(UnreadableSample, match="sample 1: .* steps after thinning, more than the model's"):
        recognizer.recognize([overfit_run[1][0], long])
    single = Sample(np.zeros((1, 2), np.float32), np.zeros((1, 1), bool))
    with pytest.raises(UnreadableSample, match="sample 0: a single point"):
        recognizer.recognize([single])


def test_trajtok_recognize_and_write_take_the_multitask_run(overfit_run, tmp_path, capsys):
    run_dir, samples = overfit_run
    assert main(["write", samples[0].text, "--checkpoint", str(run_dir), "--temperature", "0",
                 "--out", str(tmp_path / "w.png")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["recognize", str(tmp_path / "w.npz"), "--checkpoint", str(run_dir), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["written"] == samples[0].text and row["text"] == samples[0].text
    assert main(["train", "multitask", "--print-config"]) == 0
    assert "reads: true" in capsys.readouterr().out
