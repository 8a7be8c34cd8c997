"""The recognizer: batches equal single samples, it overfits to exact text, resumes exactly, and its
checkpoints load with weights_only=True and are told apart from the writer's."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trajtok.checkpoint import load_checkpoint
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.errors import CheckpointError, ConfigError
from trajtok.recognize import Recognizer, UnreadableSample
from trajtok.recognizer import InkReader, RecognizerConfig
from trajtok.recognizer_checkpoint import load_recognizer
from trajtok.recognizer_train import RecognizerTrainConfig, load_split, train_recognizer
from trajtok.sample import Sample
from trajtok.text import CharTokenizer
from trajtok.train import weights_digest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = [
    "model.conv_channels=32",
    "model.hidden=32",
    "model.dropout=0",
    "batch_size=5",
    "lr=0.01",
    "min_lr=0.001",
    "warmup_steps=10",
    "log_every=10",
    "data.max_chars=6",
    "data.n_val=4",
]

# Short texts (<= 4 characters), a wider model: CTC learns their alignment in a few hundred steps.
OVERFIT = ["data.max_chars=4", "model.hidden=64", "model.conv_channels=64", "lr=0.005"]
OVERFIT_5 = ["overfit=5", *OVERFIT]


def tiny_config(*overrides: str) -> RecognizerTrainConfig:
    return load_config(RecognizerTrainConfig, None, [*TINY, *overrides])


@pytest.mark.parametrize("encoder", ["bilstm", "transformer"])
def test_a_padded_batch_reads_each_sample_as_alone(encoder):
    torch.manual_seed(0)
    tokenizer = CharTokenizer()
    model = InkReader(RecognizerConfig(encoder=encoder, hidden=32, conv_channels=32), tokenizer.vocab_size)
    recognizer = Recognizer(model, tokenizer)
    samples = [synthesize(t, style, seed=1) for t, style in [("a", 0), ("longer words here", 3), ("mid", 5)]]
    together = recognizer.log_probs([recognizer.features(s) for s in samples])
    for row, sample in enumerate(samples):
        alone, frames = recognizer.log_probs([recognizer.features(sample)])
        n = int(frames[0])
        assert int(together[1][row]) == n
        torch.testing.assert_close(together[0][row, :n], alone[0, :n], atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory):
    """A tiny recognizer trained on 5 fixed synthetic samples (seconds)."""
    run_dir = tmp_path_factory.mktemp("recognizer") / "run"
    summary = train_recognizer(tiny_config(*OVERFIT_5, "steps=700", "checkpoint_every=700"), run_dir)
    return run_dir, summary


@pytest.mark.slow
def test_overfits_five_samples_to_exact_text(overfit_run):
    run_dir, summary = overfit_run
    config = tiny_config(*OVERFIT_5)
    samples = load_split(config.data, "train", 5, config.seed)
    readings = Recognizer.from_checkpoint(run_dir).recognize(samples)
    assert [r.text for r in readings] == [s.text for s in samples]
    assert summary.val_cer == 0.0
    assert min(r.confidence for r in readings) > 0.5
    assert [r.text for r in Recognizer.from_checkpoint(run_dir).recognize(samples, beam=4)] == [
        s.text for s in samples
    ]


@pytest.mark.slow
def test_overfits_one_sample_to_exact_text(tmp_path):
    # seed 1's first text is ';Y/E'; seed 0's, 'bbae', needs a blank frame between the two b's, which this
    # tiny model does not settle in 300 steps (it reads 'bae'; the shipped recognizer reads 'bbae')
    config = tiny_config("overfit=1", *OVERFIT, "steps=300", "checkpoint_every=300", "batch_size=1", "seed=1")
    train_recognizer(config, tmp_path)
    sample = load_split(config.data, "train", 1, config.seed)[0]
    assert Recognizer.from_checkpoint(tmp_path).recognize([sample])[0].text == sample.text


def test_resume_is_exact(tmp_path):
    overrides = ("steps=16", "checkpoint_every=8", "data.n_train=40", "model.dropout=0.2")
    straight = train_recognizer(tiny_config(*overrides), tmp_path / "straight")
    train_recognizer(tiny_config(*overrides[1:], "steps=8"), tmp_path / "stopped")
    resumed = train_recognizer(tiny_config(*overrides), tmp_path / "stopped", resume=True)
    assert resumed.step == straight.step == 16
    a = load_recognizer(tmp_path / "straight" / "checkpoints" / "latest.pt").model
    b = load_recognizer(tmp_path / "stopped" / "checkpoints" / "latest.pt").model
    assert weights_digest(a) == weights_digest(b)
    kinds = [
        json.loads(line)["kind"] for line in (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()
    ]
    assert kinds.count("resume") == 1
    assert (tmp_path / "stopped" / "curves.png").is_file()  # redrawn at each validation, the resume's too


def test_checkpoints_load_with_weights_only_and_refuse_the_wrong_kind(overfit_run, overfit_checkpoint):
    run_dir, _ = overfit_run
    payload = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert payload["format"] == "trajtok-recognizer" and "optimizer" in payload["extra"]
    with pytest.raises(CheckpointError, match="a handwriting model .text -> strokes. that does not read"):
        load_recognizer(overfit_checkpoint)
    with pytest.raises(CheckpointError, match="a recognizer checkpoint .strokes -> text., not a handwriting"):
        load_checkpoint(run_dir / "checkpoints" / "best.pt")


def test_unreadable_samples_raise_with_their_index(overfit_run):
    recognizer = Recognizer.from_checkpoint(overfit_run[0])
    good = synthesize("hi", 0)
    empty = Sample(np.zeros((0, 2), np.float32), np.zeros((0, 1), bool))
    with pytest.raises(UnreadableSample, match="sample 1: no points"):
        recognizer.recognize([good, empty])
    assert recognizer.recognize([]) == []


def test_cli_trains_and_resumes_a_recognizer(tmp_path, capsys):
    from trajtok.cli import main

    run_dir = tmp_path / "run"
    args = [*TINY, "data.n_train=12", "checkpoint_every=2", "batch_size=4"]
    assert main(["train", "recognizer", "--run-dir", str(run_dir), *args, "steps=2"]) == 0
    assert "validation CER" in capsys.readouterr().out
    assert main(["train", "recognizer", "--resume", str(run_dir), "steps=4"]) == 0
    assert (run_dir / "checkpoints" / "best.pt").is_file() and (run_dir / "config.yaml").is_file()
    assert load_recognizer(run_dir / "checkpoints" / "latest.pt").extra["step"] == 4


def test_configs_recognizer_yaml_only_overrides_defaults():
    import yaml

    from trajtok.config import to_dict

    def leaves(d, prefix=""):
        for key, value in d.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    defaults = dict(leaves(to_dict(RecognizerTrainConfig())))
    path = Path(__file__).parents[1] / "configs" / "recognizer.yaml"
    written = dict(leaves(yaml.safe_load(path.read_text()) or {}))
    assert written, "configs/recognizer.yaml holds the shipped run's settings"
    for key, value in written.items():
        assert key in defaults and defaults[key] != value, key
    load_config(RecognizerTrainConfig, path)


def test_a_data_override_keeps_the_recognizers_own_data_defaults():
    config = load_config(RecognizerTrainConfig, None, ["data.source=bigbank"])
    assert config.data.source == "bigbank" and config.data.styles == []  # every writer, never thinned
    assert load_config(RecognizerTrainConfig, None, []).data == config.data.__class__()


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_a_seed_out_of_range_is_refused_by_name(seed):
    with pytest.raises(
        ConfigError, match=r"^override 'seed=.*': seed must be a whole number from 0 to 2\^63-1"
    ):
        load_config(RecognizerTrainConfig, None, [f"seed={seed}"])
