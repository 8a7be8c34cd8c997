"""Checkpoints: round trip, weights_only loading, run-dir resolution, atomic writes, clear errors."""

import json
import os

import numpy as np
import pytest
import torch

from trajtok.checkpoint import (
    SHIPPED_DIR,
    SHIPPED_FILE,
    VERSION,
    load_checkpoint,
    resolve_checkpoint_path,
    save_checkpoint,
)
from trajtok.errors import CheckpointError
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


CONFIG = ModelConfig(d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=1, d_ff=64, max_steps=32, max_text=8)


def parts(n_bins=8, config=CONFIG):
    rng = np.random.default_rng(0)
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=n_bins).fit(
        [rng.normal(size=(50, 2))]
    )
    text_tokenizer = CharTokenizer()
    torch.manual_seed(0)
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    return model, tokenizer, text_tokenizer


def test_round_trip_gives_the_same_model(tmp_path):
    model, tokenizer, text_tokenizer = parts()
    extra = {
        "step": 12,
        "optimizer": torch.optim.AdamW(model.parameters()).state_dict(),
        "rng": torch.get_rng_state(),
    }
    path = save_checkpoint(tmp_path / "a.pt", model, tokenizer, text_tokenizer, CONFIG, extra)
    assert path.stat().st_mode & 0o777 == 0o644
    raw = torch.load(path, weights_only=True)  # nothing but tensors and plain containers inside
    assert raw["version"] == VERSION and isinstance(raw["tokenizer"], str)
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == CONFIG and ckpt.extra["step"] == 12 and ckpt.path == path
    assert ckpt.tokenizer.to_dict() == tokenizer.to_dict() and ckpt.text_tokenizer == text_tokenizer
    assert not ckpt.model.training
    text, pad = torch.tensor([[5, 6, 7]]), torch.zeros(1, 3, dtype=torch.bool)
    tokens = torch.zeros(1, 4, 3, dtype=torch.long)
    model.eval()
    for a, b in zip(model(text, pad, tokens).logits, ckpt.model(text, pad, tokens).logits, strict=True):
        torch.testing.assert_close(a, b)


def test_a_device_torch_cannot_use_is_not_taken_for_a_damaged_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", *parts(), CONFIG, {})
    with pytest.raises(RuntimeError, match="tpu") as raised:
        load_checkpoint(path, map_location="tpu")
    assert not isinstance(raised.value, CheckpointError)


def test_run_directory_prefers_best_then_latest(tmp_path):
    model, tokenizer, text_tokenizer = parts()
    with pytest.raises(CheckpointError, match="no checkpoint in this directory"):
        load_checkpoint(tmp_path)
    save_checkpoint(
        tmp_path / "checkpoints" / "latest.pt", model, tokenizer, text_tokenizer, CONFIG, {"step": 2}
    )
    assert load_checkpoint(tmp_path).extra["step"] == 2
    save_checkpoint(
        tmp_path / "checkpoints" / "best.pt", model, tokenizer, text_tokenizer, CONFIG, {"step": 1}
    )
    assert load_checkpoint(tmp_path).extra["step"] == 1


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    if not (SHIPPED_DIR / SHIPPED_FILE).is_file():
        with pytest.raises(CheckpointError, match="shipped model .* is missing; train one"):
            resolve_checkpoint_path(None)


def test_failed_save_leaves_the_old_checkpoint_and_no_temp_file(tmp_path):
    model, tokenizer, text_tokenizer = parts()
    path = save_checkpoint(tmp_path / "a.pt", model, tokenizer, text_tokenizer, CONFIG, {"step": 1})
    with pytest.raises(ValueError, match=r"extra\['rng'\] is a ndarray"):
        save_checkpoint(path, model, tokenizer, text_tokenizer, CONFIG, {"step": 2, "rng": np.zeros(3)})
    (tmp_path / "taken").mkdir()  # the rename fails after the temporary file was written in full
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "taken", model, tokenizer, text_tokenizer, CONFIG, {"step": 3})
    assert sorted(os.listdir(tmp_path)) == ["a.pt", "taken"]
    assert load_checkpoint(path).extra["step"] == 1


def test_parts_that_do_not_fit_are_refused(tmp_path):
    model, tokenizer, text_tokenizer = parts()
    other_tokenizer = parts(n_bins=12)[1]
    with pytest.raises(
        CheckpointError, match=r"vocab sizes \(13, 13, 3\) do not fit the model heads \(9, 9, 3\)"
    ):
        save_checkpoint(tmp_path / "x.pt", model, other_tokenizer, text_tokenizer, CONFIG)
    path = save_checkpoint(tmp_path / "a.pt", model, tokenizer, text_tokenizer, CONFIG)

    def tampered(**changes):
        payload = torch.load(path, weights_only=True)
        payload.update(changes)
        torch.save(payload, tmp_path / "bad.pt")
        return tmp_path / "bad.pt"

    with pytest.raises(CheckpointError, match="do not fit the model heads"):
        load_checkpoint(tampered(tokenizer=json_of(other_tokenizer)))
    with pytest.raises(CheckpointError, match=f"format version 99, this trajtok reads {VERSION}"):
        load_checkpoint(tampered(version=99))
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(tampered(model_config={**vars(CONFIG), "d_model": 64}))
    with pytest.raises(CheckpointError, match="unknown key"):
        load_checkpoint(tampered(model_config={**vars(CONFIG), "n_layers": 2}))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a trajtok checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def json_of(tokenizer):
    return json.dumps(tokenizer.to_dict())
