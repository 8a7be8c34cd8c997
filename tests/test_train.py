"""Training: losses, schedule, batching, overfitting, exact resume, run directory (configs/tiny.yaml)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from trajtok.batching import BatchOrder, collate, encode_samples
from trajtok.checkpoint import load_checkpoint
from trajtok.config import load_config, to_dict
from trajtok.data.hershey import synthesize
from trajtok.errors import CheckpointError, ConfigError
from trajtok.generate import Sampling, Writer
from trajtok.losses import attention_alignment_loss, focal_loss
from trajtok.model import StrokeTransformer
from trajtok.runtime import select_device
from trajtok.strokes import integrate, thin_sample
from trajtok.tasks import task_file, task_names
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.train import (
    blank_rows,
    compute_losses,
    evaluate,
    prepare_data,
    train,
    training_batch,
    weights_digest,
)
from trajtok.train_config import TrainConfig, load_train_config
from trajtok.training_state import lr_factor

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "tiny.yaml"


def tiny(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, TINY, list(overrides))


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# -- losses ------------------------------------------------------------------------------------------------


def test_focal_loss_is_cross_entropy_at_gamma_zero_and_discounts_easy_steps():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 50, 3) * 3, torch.randint(0, 3, (2, 50))
    mask = torch.ones(2, 50, dtype=torch.bool)
    ce = F.cross_entropy(logits.reshape(-1, 3), targets.reshape(-1))
    assert torch.allclose(focal_loss(logits, targets, mask, 0.0), ce)

    easy = torch.tensor([[[6.0, 0.0, 0.0]]])  # p(0) ~ 0.995
    hard = torch.tensor([[[0.0, 6.0, 0.0]]])  # p(0) ~ 0.0025
    zero, one = torch.zeros(1, 1, dtype=torch.long), torch.ones(1, 1, dtype=torch.bool)
    easy_ratio = focal_loss(easy, zero, one, 2.0) / focal_loss(easy, zero, one, 0.0)
    hard_ratio = focal_loss(hard, zero, one, 2.0) / focal_loss(hard, zero, one, 0.0)
    assert easy_ratio < 1e-4  # a confidently right step is almost ignored...
    assert hard_ratio > 0.99  # ...a wrong one keeps its full cross-entropy


def test_losses_ignore_padding():
    logits, targets = torch.randn(1, 4, 5), torch.randint(0, 5, (1, 4))
    mask = torch.tensor([[True, True, False, False]])
    garbage = logits.clone()
    garbage[:, 2:] = 100 * torch.randn(1, 2, 5)
    assert torch.allclose(focal_loss(logits, targets, mask, 2.0), focal_loss(garbage, targets, mask, 2.0))


def test_attention_alignment_loss_rewards_looking_at_the_drawn_character():
    char_index = torch.tensor([[0, 0, 1, 2, -1]])  # the last step (the end step) has no character
    on_target = F.one_hot(torch.tensor([[0, 0, 1, 2, 0]]), 3).float()
    uniform = torch.full((1, 5, 3), 1 / 3)
    assert attention_alignment_loss(on_target, char_index) < 1e-4
    assert math.isclose(float(attention_alignment_loss(uniform, char_index)), math.log(3), rel_tol=1e-4)
    assert float(attention_alignment_loss(uniform, torch.full((1, 5), -1))) == 0.0  # nothing aligned


def test_lr_warms_up_then_decays_to_min_lr():
    config = TrainConfig(steps=100, warmup_steps=10, lr=1e-3, min_lr=1e-4)
    factors = [lr_factor(s, config) for s in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))
    assert factors[100] == pytest.approx(0.1)


# -- data and batches --------------------------------------------------------------------------------------


def test_thinning_keeps_strokes_pen_lifts_and_the_end_point():
    sample = synthesize("minimum", style_id=0, seed=3)
    thinned = thin_sample(sample, 0.4)
    assert len(thinned) < len(sample) / 2
    assert thinned.events[:, 0].sum() == sample.events[:, 0].sum()  # every stroke survives
    np.testing.assert_allclose(thinned.deltas.sum(0), sample.deltas.sum(0), atol=1e-4)
    assert set(thinned.char_index.tolist()) == set(sample.char_index.tolist())
    step = np.hypot(*thinned.deltas[1:][~thinned.events[:-1, 0]].T)  # pen-down steps
    assert np.median(step) > 0.3


def test_batches_are_bucketed_resumable_and_cover_each_epoch_once():
    lengths = np.random.default_rng(0).integers(10, 500, size=400)
    order = BatchOrder(lengths, batch_size=8, seed=1, bucket_batches=10)
    epoch = np.concatenate([order.batch(k) for k in range(order.batches_per_epoch)])
    assert sorted(epoch.tolist()) == list(range(400))
    spread = np.mean([np.ptp(lengths[order.batch(k)]) for k in range(50)])
    assert spread < 0.25 * np.ptp(lengths)  # similar lengths share a batch
    fresh = BatchOrder(lengths, batch_size=8, seed=1, bucket_batches=10)
    assert np.array_equal(fresh.batch(123), order.batch(123))  # a pure function of the batch number
    assert not np.array_equal(order.batch(0), order.batch(order.batches_per_epoch))  # new epoch, new order


def test_collate_pads_masks_and_blanks_texts():
    samples = [synthesize(text, 0, 0) for text in ("ab", "hello")]
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=8).fit([s.deltas for s in samples])
    data = encode_samples(samples, tokenizer, CharTokenizer(), max_steps=1000, max_text=16)
    batch = collate(data, [0, 1], no_text=np.array([False, True]))
    lengths = [len(s) + 1 for s in samples]  # + the end step
    assert batch["tokens"].shape == (2, max(lengths), 3)
    assert batch["step_mask"].sum(1).tolist() == lengths
    assert batch["text_pad_mask"][0].tolist() == [False, False]  # "ab", padded to the batch's widest text
    assert batch["text_pad_mask"][1].all()  # the blanked row has no text...
    assert (batch["char_index"][1] == -1).all()  # ...and no alignment target
    assert batch["char_index"][0, : lengths[0] - 1].tolist() == samples[0].char_index.tolist()
    assert batch["char_index"][0, lengths[0] - 1 :].eq(-1).all()  # end step and padding


def test_collate_carries_state_vectors():
    samples = [
        dataclasses.replace(synthesize(text, 0, 0), state=np.full(6, i, np.float32))
        for i, text in enumerate(("ab", "cd", "ef"))
    ]
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=8).fit([s.deltas for s in samples])
    data = encode_samples(samples, tokenizer, CharTokenizer(), max_steps=1000, max_text=16)
    batch = collate(data, [2, 0])
    assert batch["state"].dtype == torch.float32 and batch["state"][:, 0].tolist() == [2.0, 0.0]
    assert data.subset([1]).states[0][0] == 1.0
    stateless = encode_samples(
        [synthesize("ab", 0, 0)], tokenizer, CharTokenizer(), max_steps=1000, max_text=16
    )
    assert "state" not in collate(stateless, [0])


def test_no_text_fraction_blanks_that_share_of_rows():
    rows = np.concatenate([blank_rows(0, k, 32, 0.2) for k in range(300)])
    assert abs(rows.mean() - 0.2) < 0.02
    assert not blank_rows(0, 5, 32, 0.0).any() and blank_rows(0, 5, 32, 1.0).all()
    assert np.array_equal(blank_rows(0, 5, 32, 0.2), blank_rows(0, 5, 32, 0.2))


def test_no_text_training_runs_with_every_text_blank(tmp_path):
    summary = train(tiny("steps=4", "no_text_fraction=1.0", "loss.attention_weight=0"), tmp_path / "run")
    assert math.isfinite(summary.train_loss)
    assert all("loss_attention" not in m for m in read_metrics(tmp_path / "run") if m["kind"] == "train")


def test_training_and_validation_work_under_bf16_autocast():
    """The GPU path's mixed precision, exercised on the CPU with the autocast the trainer builds: the losses
    come out in float32 and follow the float32 run's from the same start; validation gives finite figures."""
    config = tiny()
    data = prepare_data(config)
    batch = training_batch(0, data.train, BatchOrder(data.train.lengths, 8, 0, 4), config)

    def run(autocast: torch.autocast) -> tuple[StrokeTransformer, list[float]]:
        torch.manual_seed(0)
        model = StrokeTransformer(config.model, data.text_tokenizer.vocab_size, data.tokenizer.vocab_sizes)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
        losses = []
        for _ in range(20):
            with autocast:
                loss, parts = compute_losses(model, batch, config.loss, data.tokenizer)
            assert loss.dtype == torch.float32 and set(parts) >= {"loss_dx", "loss_attention"}
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return model, losses

    bf16 = torch.autocast("cpu", dtype=torch.bfloat16)
    model, mixed = run(bf16)
    _, full = run(torch.autocast("cpu", enabled=False))
    assert mixed[-1] < 0.85 * mixed[0], mixed
    assert abs(mixed[-1] - full[-1]) < 0.05 * full[-1], (mixed[-1], full[-1])
    val_loss, val_parts = evaluate(model, data.val, data.tokenizer, torch.device("cpu"), bf16)
    assert math.isfinite(val_loss) and all(math.isfinite(v) for v in val_parts.values())


def test_device_selection_takes_what_the_machine_has():
    mps = getattr(torch.backends, "mps", None)
    present = {"cuda": torch.cuda.is_available(), "mps": mps is not None and mps.is_available()}
    assert select_device("auto").type == next((k for k, v in present.items() if v), "cpu")
    assert select_device("cpu").type == "cpu"
    for kind in (k for k, v in present.items() if not v):
        with pytest.raises(ConfigError, match=f"device={kind} but this machine has no {kind.upper()} device"):
            select_device(kind)
    with pytest.raises(ConfigError, match="device=tpu but torch knows no device 'tpu'"):
        select_device("tpu")


def test_the_handwriting_task_is_the_defaults_and_task_files_hold_only_what_differs():
    assert load_train_config("handwriting") == TrainConfig()
    assert task_names() == ["gripper", "handwriting", "multitask"]
    for task in task_names():
        settings = yaml.safe_load(task_file(task).read_text()) or {}
        defaults = to_dict(TrainConfig())
        for key, value in settings.items():  # a key restating its default is a second home for the setting
            if isinstance(value, dict):
                assert all(defaults[key][k] != v for k, v in value.items()), (task, key)
            else:
                assert defaults[key] != value, (task, key)
    gripper = load_train_config("gripper", None, ["steps=7"])
    assert gripper.steps == 7 and gripper.model.state_dim == 6 and gripper.data.source == "pickplace"


def test_a_config_file_layers_over_the_task_and_the_caller_config_is_not_changed(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("model:\n  d_model: 64\n")
    layered = load_train_config("gripper", extra)
    assert layered.model.d_model == 64 and layered.model.state_dim == 6  # sections merge key by key
    config = tiny("overfit=2", "steps=2", "model.dropout=0.1", "no_text_fraction=0.2")
    before = copy.deepcopy(config)
    train(config, tmp_path / "run")
    assert config == before
    saved = load_config(TrainConfig, tmp_path / "run" / "config.yaml")
    assert saved.model.dropout == 0.0 and saved.no_text_fraction == 0.0  # overfitting turns both off


def test_bad_config_values_are_config_errors(tmp_path):
    for override, message in [("steps=0", "steps"), ("no_text_fraction=2", "no_text_fraction")]:
        with pytest.raises(ConfigError, match=message):
            train(tiny(override), tmp_path / "bad")
    with pytest.raises(ConfigError, match="no synthetic writer"):
        train(tiny("data.styles=[0, 99]"), tmp_path / "bad")
    with pytest.raises(ConfigError, match="channel_weights"):
        train(tiny("loss.channel_weights=[1, 2]"), tmp_path / "bad")
    with pytest.raises(ConfigError, match="sample_phrases: text 'caf\u00e9' has characters outside"):
        tiny("sample_phrases=[ok, caf\u00e9]")  # refused before training, not when the samples are written
    with pytest.raises(ConfigError, match="sample_phrases: a phrase of 300 characters"):
        tiny(f"sample_phrases=[{'x' * 300}]")


# -- runs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5])
def test_overfit_reaches_near_zero_loss_and_writes_the_sample_back(tmp_path, n):
    config = tiny(f"overfit={n}", "steps=160", "lr=0.006", "warmup_steps=10", "checkpoint_every=160")
    train(config, tmp_path / "run")
    last = [m for m in read_metrics(tmp_path / "run") if m["kind"] == "train"][-1]
    assert last["loss_dx"] + last["loss_dy"] + last["loss_pen_lift"] < 0.05  # nats per step, near zero

    writer = Writer.from_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    data = prepare_data(config, tokenizer=writer.tokenizer)
    assert len(data.train) == n
    written = writer.write(data.train.texts, Sampling(temperature=0.0))
    for tokens, sample in zip(data.train.tokens, written, strict=True):
        deltas, events = writer.tokenizer.decode(tokens)  # the training sample as the model sees it
        assert len(sample) == len(deltas)
        np.testing.assert_allclose(sample.deltas, deltas, atol=1e-6)
        assert np.array_equal(sample.events, events)


def test_resume_gives_the_same_run_as_no_interruption(tmp_path):
    config = tiny("steps=12", "checkpoint_every=6", "log_every=1", "model.dropout=0.1")
    straight = train(config, tmp_path / "straight")

    def crash_after_step_7(step: int, total: int, metrics: dict) -> None:
        if step == 7:
            raise KeyboardInterrupt  # step 7 is lost: the last checkpoint holds step 6

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "split", progress=crash_after_step_7)
    resumed = train(config, tmp_path / "split", resume=True)

    def losses(run: str) -> list[float]:
        return [m["loss"] for m in read_metrics(tmp_path / run) if m["kind"] == "train"]

    assert losses("split") == losses("straight") and len(losses("straight")) == 12
    assert resumed.val_loss == straight.val_loss
    a = load_checkpoint(tmp_path / "straight" / "checkpoints" / "latest.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoints" / "latest.pt")
    assert weights_digest(a.model) == weights_digest(b.model)
    assert [m["step"] for m in read_metrics(tmp_path / "split") if m["kind"] == "resume"] == [6]
    again = train(config, tmp_path / "split", resume=True)  # a finished run: nothing left to train
    assert again.step == 12 and again.val_loss == pytest.approx(straight.val_loss)


def test_init_from_starts_a_run_from_a_trained_model(tmp_path):
    first = train(tiny("steps=20", "checkpoint_every=20"), tmp_path / "first")
    trained = load_checkpoint(tmp_path / "first")
    # a new run on other data: its first validation is the trained model's on that data, not a fresh one's
    other = ("data.styles=[print-wide]", "seed=3", "checkpoint_every=1", "lr=1e-9", "min_lr=0", "steps=1")
    tuned = train(tiny(*other, f"init_from={tmp_path / 'first'}"), tmp_path / "tuned")
    fresh = train(tiny(*other), tmp_path / "fresh")
    assert tuned.val_loss < fresh.val_loss - 0.5, (tuned.val_loss, fresh.val_loss, first.val_loss)
    start = load_checkpoint(tmp_path / "tuned")
    assert start.tokenizer.to_dict() == trained.tokenizer.to_dict()  # the bins it learned with, not refitted
    for name, weight in trained.model.state_dict().items():
        torch.testing.assert_close(start.model.state_dict()[name], weight, atol=1e-6, rtol=0, msg=name)
    with pytest.raises(ConfigError, match="trained with model.d_model=48; set the same"):
        train(tiny("model.d_model=64", f"init_from={tmp_path / 'first'}"), tmp_path / "wrong")
    with pytest.raises(CheckpointError, match="no-such-run"):
        train(tiny(f"init_from={tmp_path / 'no-such-run'}"), tmp_path / "missing")


def test_init_from_grows_a_fresh_style_encoder_onto_a_model_without_one(tmp_path):
    train(tiny("steps=20", "checkpoint_every=20"), tmp_path / "first")
    trained = load_checkpoint(tmp_path / "first")
    other = ("seed=3", "checkpoint_every=1", "lr=1e-9", "min_lr=0", "steps=1", "model.style_steps=32")
    grown = train(tiny(*other, f"init_from={tmp_path / 'first'}"), tmp_path / "grown")
    fresh = train(tiny(*other), tmp_path / "fresh")
    assert grown.val_loss < fresh.val_loss - 0.5, (grown.val_loss, fresh.val_loss)
    start = load_checkpoint(tmp_path / "grown")
    assert start.model_config.style_steps == 32
    weights = start.model.state_dict()
    for name, weight in trained.model.state_dict().items():  # every weight the start had, carried over
        torch.testing.assert_close(weights[name], weight, atol=1e-6, rtol=0, msg=name)
    assert weights["style_encoder.proj.weight"].abs().max() < 1e-6  # the hand adds nothing at first
    with pytest.raises(ConfigError, match="trained with model.style_steps=32; set the same"):
        train(tiny("model.style_steps=16", f"init_from={tmp_path / 'grown'}"), tmp_path / "shrunk")


def test_run_directory_holds_config_tokenizer_metrics_checkpoints_and_pictures(tmp_path):
    run = tmp_path / "run"
    train(tiny("steps=10", "checkpoint_every=5", "sample_every=10"), run)
    assert load_config(TrainConfig, run / "config.yaml") == tiny(
        "steps=10", "checkpoint_every=5", "sample_every=10"
    )
    tokenizer = TrajectoryTokenizer.load(run / "tokenizer.json")
    metrics = read_metrics(run)
    assert {m["kind"] for m in metrics} == {"train", "val", "read_back"}
    assert [m["step"] for m in metrics if m["kind"] == "val"] == [5, 10]
    read_back = [m for m in metrics if m["kind"] == "read_back"]  # the shipped recognizer reads the samples
    assert [m["step"] for m in read_back] == [10] and len(read_back[0]["reads"]) == 1
    assert read_back[0]["recognizer_cer"] >= 0
    for name in ("latest.pt", "best.pt"):
        checkpoint = load_checkpoint(run / "checkpoints" / name)
        assert checkpoint.tokenizer.to_dict() == tokenizer.to_dict()
    assert load_checkpoint(run / "checkpoints" / "latest.pt").extra["step"] == 10
    assert len(list((run / "samples").glob("step000010_*.png"))) == 1
    assert (run / "attention" / "step000010.png").stat().st_size > 1000
    written = Writer.from_checkpoint(run).write(["hello"], Sampling(temperature=0.0))[0]
    assert integrate(written.deltas, written.events[:, 0]).shape[1] == 3
    with pytest.raises(ConfigError, match="already holds a run"):
        train(tiny("steps=10"), run)
