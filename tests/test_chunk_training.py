"""The model trains on the chunk schemes: handwriting (overfit, written back exactly) and a gripper policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajtok.chunk_tokenizer import CHUNK_SCHEMES, ChunkTokenizer
from trajtok.config import load_config
from trajtok.generate import Sampling, Writer
from trajtok.train import prepare_data, train
from trajtok.train_config import TrainConfig, load_train_config

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"


@pytest.mark.parametrize("scheme", CHUNK_SCHEMES)
def test_handwriting_model_overfits_a_chunked_sample_and_writes_it_back(tmp_path, scheme, one_torch_thread):
    overrides = ["overfit=1", "steps=120", "lr=0.006", "warmup_steps=10", "checkpoint_every=120"]
    config = load_config(
        TrainConfig, TINY, [*overrides, f"tokenizer.scheme={scheme}", "tokenizer.bpe_vocab=256"]
    )
    train(config, tmp_path / "run")
    writer = Writer.from_checkpoint(tmp_path / "run")
    assert isinstance(writer.tokenizer, ChunkTokenizer) and writer.tokenizer.scheme == scheme
    data = prepare_data(config, tokenizer=writer.tokenizer)
    tokens = data.train.tokens[0]
    assert tokens.shape[1] == 1 and len(tokens) < 3 * len(writer.tokenizer.token_steps(tokens))
    assert (data.train.char_index[0][:-1] >= 0).all()  # every token carries its chunk's character
    sample = writer.write(data.train.texts, Sampling(temperature=0.0))[0]
    deltas, events = writer.tokenizer.decode(tokens)
    np.testing.assert_allclose(sample.deltas, deltas, atol=1e-6)
    np.testing.assert_array_equal(sample.events, events)
    streamed = list(writer.stream(data.train.texts[0], Sampling(temperature=0.0)))
    np.testing.assert_allclose(np.stack([d for d, _ in streamed]), deltas, atol=1e-6)


@pytest.mark.parametrize("scheme", CHUNK_SCHEMES)
def test_gripper_policy_trains_on_a_chunk_scheme_and_samples_decodable_episodes(
    tmp_path, monkeypatch, scheme
):
    pytest.importorskip("pybullet")
    from trajtok_sim.demos import register

    register()  # the pickplace source, as the CLI registers it
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    tiny = [
        "model.d_model=48",
        "model.d_ff=96",
        "model.n_enc_layers=1",
        "model.n_dec_layers=1",
        "data.n_train=8",
    ]
    overrides = [*tiny, "data.n_val=2", "steps=20", "batch_size=4", "checkpoint_every=20", "log_every=5"]
    config = load_train_config(
        "gripper", None, [*overrides, f"tokenizer.scheme={scheme}", "tokenizer.n_control=4"]
    )
    train(config, tmp_path / "run")
    writer = Writer.from_checkpoint(tmp_path / "run")
    data = prepare_data(config, tokenizer=writer.tokenizer)
    states = np.stack(data.val.states)
    written = writer.write(data.val.texts, Sampling(temperature=1.0, seed=0), state=states)
    for sample in written:  # an untrained policy's stream still decodes: the grammar mask keeps it valid
        assert sample.deltas.shape[1] == 3 and len(sample.events) == len(sample.deltas)
