"""The style encoder (model.style_steps > 0): references of the same writer in training, a tiny model of two
hands that writes a text in the hand of a reference whose text differs, the command line, what it refuses."""

import dataclasses

import numpy as np
import pytest
import torch
from test_style import bars_written, hand, is_bar, reference, strokes_of, style_file

from trajtok.batching import collate, encode_samples
from trajtok.checkpoint import save_checkpoint
from trajtok.errors import ConfigError
from trajtok.generate import Writer
from trajtok.losses import style_contrast_loss
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.sampling import Sampling
from trajtok.style_references import MIN_REFERENCE_STEPS, StyleReferences
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.train import compute_losses
from trajtok.train_config import LossConfig, TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STYLE_STEPS = 24
TEXTS = ("ab c", "ab ccc", "ccc")


def lines_of_two_hands():
    """Each text in hand A (loops, writer 0) and hand B (bars, writer 1): the texts are the same for both,
    so only the reference says which hand to write in."""
    return [dataclasses.replace(hand(w, t), style_id=i) for i, w in enumerate("AB") for t in TEXTS]


def fitted_tokenizer(samples):
    rng = np.random.default_rng(0)  # bins fitted on jittered strokes: no edge sits on a stroke's own step
    jittered = [s.deltas + rng.normal(0, 0.02, s.deltas.shape) for s in samples for _ in range(4)]
    return TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=16).fit(jittered)


@pytest.fixture(scope="module")
def style_model(tmp_path_factory):
    """A tiny style model trained (seconds) as `trajtok train` trains one: each row's reference is the start
    of another line of its writer; saved as a checkpoint for the CLI."""
    torch.manual_seed(0)
    samples = lines_of_two_hands()
    tokenizer, text_tokenizer = fitted_tokenizer(samples), CharTokenizer()
    data = encode_samples(samples, tokenizer, text_tokenizer, max_steps=96, max_text=24)
    config = ModelConfig(d_model=64, n_heads=2, n_enc_layers=1, n_dec_layers=2, d_ff=128, dropout=0.0)
    config.max_steps, config.max_text, config.style_steps = 96, 24, STYLE_STEPS
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    references = StyleReferences(data, STYLE_STEPS, "two hands")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rows = np.arange(len(data))
    for step in range(400):
        batch = collate(data, rows)
        batch.update(references.batch(rows, np.random.default_rng(step), no_style_fraction=0.25))
        loss, _ = compute_losses(model, batch, LossConfig(attention_weight=0.0), tokenizer)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    path = tmp_path_factory.mktemp("style_encoder") / "two_hands.pt"
    facts = {"max_steps_per_char": 12, "train_config": {"data": {"source": "hershey", "max_chars": 10}}}
    save_checkpoint(path, model, tokenizer, text_tokenizer, model.config, facts)
    return Writer(model, tokenizer, text_tokenizer, max_steps_per_char=12), path


def test_references_are_the_start_of_another_line_of_the_same_writer():
    samples = lines_of_two_hands()
    data = encode_samples(samples, fitted_tokenizer(samples), CharTokenizer(), 96, 24)
    assert data.writers == [0, 0, 0, 1, 1, 1]
    references = StyleReferences(data, STYLE_STEPS, "two hands")
    rows = np.arange(len(data))
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = references.batch(rows, rng)
        for row in rows:
            steps = batch["style_tokens"][row][batch["style_mask"][row]].numpy()
            assert MIN_REFERENCE_STEPS <= len(steps) <= STYLE_STEPS
            sources = [
                other
                for other in rows
                if other != row and np.array_equal(data.tokens[other][: len(steps)], steps)
            ]
            assert sources and all(data.writers[s] == data.writers[row] for s in sources), row
    none = references.batch(rows, rng, no_style_fraction=1.0)
    assert not none["style_mask"].any()


def test_a_source_whose_samples_declare_no_writer_is_refused():
    samples = [hand("A", t) for t in TEXTS]  # style_id None
    data = encode_samples(samples, fitted_tokenizer(samples), CharTokenizer(), 96, 24)
    with pytest.raises(ConfigError, match="do not declare their writer .style_id.*model.style_steps=0"):
        StyleReferences(data, STYLE_STEPS, "my words")


def test_new_text_is_written_in_the_hand_of_a_reference_with_another_text(style_model):
    writer, _ = style_model
    assert writer.encodes_style
    greedy = Sampling(temperature=0)
    for who, want_bars in (("A", False), ("B", True)):
        one, three = writer.write(["c", "ccc"], greedy, style=reference(who))  # the reference says 'ab'
        assert [len(strokes_of(one)), len(strokes_of(three))] == [1, 3]  # the new text, not the reference's
        assert [is_bar(s) for s in strokes_of(three)] == [want_bars] * 3, who
        streamed = list(writer.stream("ccc", greedy, style=reference(who)))
        np.testing.assert_allclose(np.stack([d for d, _ in streamed]), three.deltas, atol=1e-6)


def test_style_guidance_writes_the_reference_hand_more_strongly(style_model):
    writer, _ = style_model
    for who, want_bars in (("A", False), ("B", True)):
        guided = Sampling(temperature=0, style_guidance=2.5)  # 2 x the rows: with the reference, and none
        (three,) = writer.write(["ccc"], guided, style=reference(who))
        assert [is_bar(s) for s in strokes_of(three)] == [want_bars] * 3, who
        streamed = list(writer.stream("ccc", guided, style=reference(who)))
        np.testing.assert_allclose(np.stack([d for d, _ in streamed]), three.deltas, atol=1e-6)
    plain, unguided = (
        writer.write(["ab c"], Sampling(temperature=0, style_guidance=g), style=reference("B"))[0]
        for g in (Sampling().style_guidance, 1.0)
    )
    np.testing.assert_array_equal(plain.deltas, unguided.deltas)  # 1: the styled logits, one pass
    with pytest.raises(ValueError, match="style_guidance >= 0"):
        Sampling(style_guidance=-1.0)


def test_the_style_contrast_pulls_one_writers_hands_together():
    writers = torch.tensor([0, 0, 1, 1, -1])
    apart = torch.tensor([[1.0, 0], [1, 0.1], [0, 1], [0.1, 1], [5, 5]])  # -1: no reference, left out
    mixed = torch.tensor([[1.0, 0], [0, 1], [1, 0.1], [0.1, 1], [-5, 5]])
    assert style_contrast_loss(apart, writers, 0.1) < 0.1 < style_contrast_loss(mixed, writers, 0.1)
    alone = torch.tensor([0, 1, 2, -1, -1])  # no writer twice: nothing to pull together
    assert style_contrast_loss(apart, alone, 0.1) == 0


def test_style_refusals(style_model):
    writer, _ = style_model
    too_long = hand("B", "ab ccc ab ccc ab")  # more steps than the encoder reads: cut to style_steps
    assert len(writer.write("c", Sampling(temperature=0), style=too_long)) == 1
    tokens = torch.zeros(1, STYLE_STEPS + 1, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=f"reads at most {STYLE_STEPS} .model.style_steps"):
        writer.model.encode_style(1, (tokens, torch.ones(1, STYLE_STEPS + 1, dtype=torch.bool)))
    plain = StrokeTransformer(ModelConfig(d_model=32, n_heads=2, d_ff=64), 100, writer.model.vocab_sizes)
    no_encoder = Writer(plain, writer.tokenizer, writer.text_tokenizer)
    assert not no_encoder.encodes_style
    with pytest.raises(ValueError, match="no style encoder .model.style_steps=0.: prime it"):
        no_encoder.write("c", style=reference("A"))
    with pytest.raises(ValueError, match="model.style_steps must be in"):
        TrainConfig(model=ModelConfig(style_steps=-1))


def test_write_style_file_is_read_by_the_encoder(style_model, tmp_path, cli):
    _, checkpoint = style_model
    for who, want_bars in (("A", False), ("B", True)):
        style = style_file(tmp_path / f"{who}.npz", [reference(who)], writer=who)
        out = tmp_path / f"{who}.png"
        argv = ["write", "ccc", "--checkpoint", checkpoint, "--temperature", "0", "--style", style]
        result = cli(*argv, "--out", out, "--attention", tmp_path / "attention.png")
        assert result.code == 0, result.err
        assert "style: 1 sample of one hand ('ab'), read by the style encoder" in result.out
        assert bars_written(out.with_suffix(".npz")) == [want_bars] * 3, who
    guided = tmp_path / "guided.png"
    argv = ["write", "ccc", "--checkpoint", checkpoint, "--temperature", "0", "--style-guidance", "2"]
    assert cli(*argv, "--style", style, "--out", guided).code == 0
    assert bars_written(guided.with_suffix(".npz")) == [True] * 3
    cli(*argv, "--out", guided).user_error("--style-guidance steers a style read by a style encoder")
    bad = tmp_path / "nan.npz"
    nan = reference("A")
    nan.deltas[2] = np.nan
    style_file(bad, [nan])
    argv = ["write", "ccc", "--checkpoint", checkpoint, "--style", bad, "--out", tmp_path / "x.png"]
    cli(*argv).user_error("nan.npz: points_0: NaN/inf")
