"""Writer: greedy writing reproduces what a tiny model overfit, stream == write, sampling knobs, priming."""

import numpy as np
import pytest
import torch

from trajtok.generate import Writer
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.sample import Sample
from trajtok.sampling import Sampling
from trajtok.strokes import thin_sample
from trajtok.text import CharTokenizer
from trajtok.token_sampler import ChannelSampler
from trajtok.tokenizer import TrajectoryTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def stroke(kind: str, n: int, lead=(0.3, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """One pen-down stroke as deltas (n, 2), `lead` from the previous point, with its pen lift at the end."""
    t = np.linspace(0, 1, n, dtype=np.float32)
    if kind == "loop":
        xy = np.stack([0.5 - 0.5 * np.cos(2 * np.pi * t), 0.5 * np.sin(2 * np.pi * t) + 0.5], 1)
    elif kind == "bar":
        xy = np.stack([0.1 * t, 1.5 * t], 1)
    else:  # hook
        xy = np.stack([t, 0.5 - 0.5 * (2 * t - 1) ** 2], 1)
    deltas = np.diff(xy, axis=0, prepend=xy[:1] - np.float32(lead)).astype(np.float32)
    events = np.zeros((n, 1), bool)
    events[-1] = True
    return deltas, events


def sample_of(text: str, parts: list[tuple]) -> Sample:
    pieces = [stroke(*part) for part in parts]
    return Sample(np.concatenate([d for d, _ in pieces]), np.concatenate([e for _, e in pieces]), text=text)


A_B = [("loop", 14), ("bar", 9)]
C = [("hook", 12)]
C_ALONE = [("hook", 12, (0.0, 0.6))]  # written alone, "c" starts elsewhere


def overfit_model(samples: list[Sample], tokenizer, max_steps: int = 64, max_text: int = 16):
    """A tiny StrokeTransformer overfit (300 steps, seconds) on `samples` with their texts, in eval mode."""
    text_tokenizer = CharTokenizer()
    config = ModelConfig(d_model=64, n_heads=2, n_enc_layers=1, n_dec_layers=2, d_ff=128, dropout=0.0)
    config.max_steps, config.max_text = max_steps, max_text
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    tokens = [torch.as_tensor(tokenizer.encode(s.deltas, s.events, add_eos=True)) for s in samples]
    batch = torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True)  # pad steps are masked out of the loss
    mask = torch.nn.utils.rnn.pad_sequence(
        [torch.ones(len(t), dtype=torch.bool) for t in tokens], batch_first=True
    )
    ids, pad, _ = text_tokenizer.encode_batch([s.text for s in samples])
    ids, pad = torch.as_tensor(ids), torch.as_tensor(pad)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        logits = model(ids, pad, batch).logits
        loss = sum(
            torch.nn.functional.cross_entropy(x[mask], batch[..., c][mask]) for c, x in enumerate(logits)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05, f"the tiny model did not overfit (loss {loss.item():.3f})"
    return model.eval()


@pytest.fixture(scope="module")
def trained():
    """A tiny model overfit on 'ab c' and 'c' (seconds), with a real tokenizer fitted on the same strokes."""
    torch.manual_seed(0)
    samples = [sample_of("ab c", A_B + C), sample_of("c", C_ALONE)]
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=16).fit([s.deltas for s in samples])
    model = overfit_model(samples, tokenizer)
    return Writer(model, tokenizer, CharTokenizer(), max_steps_per_char=20), samples


def decoded(writer: Writer, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    return writer.tokenizer.decode(writer.tokenizer.encode(sample.deltas, sample.events))


def test_greedy_write_reproduces_each_phrase_of_a_batch(trained):
    writer, (abc, c) = trained
    out = writer.write(
        ["ab c", "c"], Sampling(temperature=0)
    )  # different lengths in one batch: each stops at its end
    for got, want in zip(out, [abc, c], strict=True):
        deltas, events = decoded(writer, want)
        assert got.text == want.text and len(got) == len(want)
        np.testing.assert_array_equal(got.deltas, deltas)
        np.testing.assert_array_equal(got.events, events)


def test_stream_yields_the_same_steps_as_write(trained):
    writer, _ = trained
    for kwargs in (
        {"temperature": 0},
        {"temperature": 1.3, "seed": 7},
        {"temperature": 1.0, "top_p": 0.9, "seed": 3},
    ):
        written = writer.write("ab c", Sampling(**kwargs))[0]
        streamed = list(writer.stream("ab c", Sampling(**kwargs)))
        assert len(streamed) == len(written) > 0
        np.testing.assert_array_equal(np.stack([d for d, _ in streamed]), written.deltas)
        np.testing.assert_array_equal(np.stack([e for _, e in streamed]), written.events)


def test_stream_is_lazy(trained):
    writer, _ = trained
    steps = writer.stream("ab c", Sampling(temperature=0))
    first = next(steps)  # available before the phrase is finished
    assert first[0].shape == (2,) and first[1].shape == (1,)
    steps.close()


def test_seeds_and_sampling_knobs(trained):
    writer, _ = trained
    hot = {"temperature": 3.0, "max_steps": 30}
    a, b = writer.write("ab c", Sampling(seed=1, **hot))[0], writer.write("ab c", Sampling(seed=1, **hot))[0]
    np.testing.assert_array_equal(a.deltas, b.deltas)
    others = [writer.write("ab c", Sampling(seed=s, **hot))[0] for s in range(2, 5)]
    assert any(len(o) != len(a) or not np.array_equal(o.deltas, a.deltas) for o in others)
    greedy = writer.write("ab c", Sampling(temperature=0))[0]
    for knobs in ({"top_k": 1}, {"top_p": 1e-6}):  # a single candidate is the greedy choice
        np.testing.assert_array_equal(
            writer.write("ab c", Sampling(temperature=3.0, seed=5, **knobs))[0].deltas, greedy.deltas
        )
    with pytest.raises(ValueError, match="top_p"):
        writer.write("c", Sampling(top_p=0))
    for seed in (-1, 2**63, True):
        with pytest.raises(ValueError, match="need seed None or a whole number from 0 to 2\\^63-1"):
            Sampling(seed=seed)


def test_step_budget_scales_with_text_and_cuts(trained):
    writer, _ = trained
    assert writer.step_budget("abcd") == 2 * writer.step_budget("ab") == 80
    cut = writer.write(["ab c", "c"], Sampling(temperature=0, max_steps=5))
    assert [len(s) for s in cut] == [5, 5]


def test_priming_continues_the_primed_sample(trained):
    """Teacher-forcing the strokes of 'ab' and writing 'c' continues like the training sample 'ab c'."""
    writer, (abc, c) = trained
    n_ab = sum(part[1] for part in A_B)
    prime = Sample(abc.deltas[:n_ab], abc.events[:n_ab], text="ab")
    assert writer.conditioning_text("c", prime) == "ab c"
    continued = writer.write("c", Sampling(temperature=0), prime=prime)[0]
    deltas, events = decoded(writer, abc)
    np.testing.assert_array_equal(continued.deltas, deltas[n_ab:])
    np.testing.assert_array_equal(continued.events, events[n_ab:])
    alone = writer.write("c", Sampling(temperature=0))[0]  # unprimed, 'c' starts like the sample 'c' instead
    assert not np.array_equal(alone.deltas[:1], continued.deltas[:1])
    streamed = list(writer.stream("c", Sampling(temperature=0), prime=prime))
    np.testing.assert_array_equal(np.stack([d for d, _ in streamed]), continued.deltas)


def test_attention_rows_cover_the_conditioning_text(trained):
    writer, (abc, _) = trained
    sample = writer.write("ab c", Sampling(temperature=0))[0]
    attention = writer.attention(sample)
    assert attention.shape == (len(sample), 4)
    assert np.all(attention >= 0) and np.all(attention.sum(1) <= 1 + 1e-5)
    prime = Sample(abc.deltas[:5], abc.events[:5], text="ab")
    assert writer.attention(sample, prime=prime).shape == (len(sample), len("ab ab c"))


def test_decoded_steps_encode_back_to_the_same_tokens(trained):
    """Writer.attention re-encodes written samples; that is exact only if decode -> encode is the identity."""
    writer, _ = trained
    tokenizer = writer.tokenizer
    sample = writer.write("ab c", Sampling(temperature=1.5, seed=0, max_steps=40))[0]
    tokens = tokenizer.encode(sample.deltas, sample.events)
    np.testing.assert_array_equal(tokenizer.decode(tokens)[0], sample.deltas)


def test_empty_text_and_too_long_text(trained):
    writer, _ = trained
    blank = writer.write("", Sampling(temperature=0, max_steps=20))[0]
    assert blank.text == "" and 0 < len(blank) <= 20
    with pytest.raises(ValueError, match="at most 16"):
        writer.write("x" * 17)
    for unknown in (lambda: writer.write(["ab", "caf\u00e9"]), lambda: list(writer.stream("\u2603"))):
        with pytest.raises(ValueError, match="outside this model's alphabet"):
            unknown()  # refused, not written with [UNK] standing in for the character
    assert writer.write([]) == []
    nothing = Sample(np.zeros((0, 2), np.float32), np.zeros((0, 1), bool), text="ab")
    assert writer.attention(nothing).shape == (0, 2)


def test_state_conditioning_changes_the_writing():
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",), n_bins=8).fit([sample_of("c", C).deltas])
    text_tokenizer = CharTokenizer()
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=1, d_ff=64, dropout=0.0, state_dim=3
    )
    writer = Writer(
        StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes), tokenizer, text_tokenizer
    )
    with torch.no_grad():  # make the state matter a lot
        writer.model.state_proj.weight.mul_(200)
    a = writer.write("c", Sampling(temperature=0, max_steps=12), state=np.zeros(3, np.float32))[0]
    b = writer.write("c", Sampling(temperature=0, max_steps=12), state=np.ones(3, np.float32))[0]
    assert a.state.shape == (3,)
    assert not (len(a) == len(b) and np.array_equal(a.deltas, b.deltas))
    with pytest.raises(ValueError, match="state_dim=3"):
        writer.write("c", Sampling(max_steps=3))


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"),
    [(1.0, None, None), (0.5, None, None), (1.0, 2, None), (1.0, None, 0.7)],
)
def test_sampling_follows_the_filtered_distribution(temperature, top_k, top_p):
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    expected = (logits / temperature).softmax(-1)
    keep = torch.zeros(5, dtype=torch.bool)
    keep[: top_k or 5] = True
    if top_p is not None:  # the smallest prefix of the sorted probabilities that reaches top_p
        keep = torch.cat([torch.tensor([0.0]), expected.cumsum(0)[:-1]]) < top_p
    expected = torch.where(keep, expected, 0.0)
    expected /= expected.sum()
    sampler = ChannelSampler(
        (5,), 40000, Sampling(temperature, top_k, top_p), torch.Generator().manual_seed(0)
    )
    picks = torch.cat([sampler(logits.repeat(40000, 1), 0, []) for _ in range(3)])  # 3 steps' noise rows
    counts = torch.bincount(picks, minlength=5) / len(picks)
    torch.testing.assert_close(counts, expected, atol=0.01, rtol=0)


def test_primes_are_thinned_like_the_training_data(trained):
    writer, (abc, _) = trained
    # the strokes of 'ab' as a pen samples them, three points for each of the model's steps
    deltas = np.repeat(abc.deltas[:23] / 3, 3, axis=0)
    lifts = np.zeros((len(deltas), 1), dtype=abc.events.dtype)
    lifts[2::3] = abc.events[:23]
    prime = Sample(deltas, lifts, text="ab")
    thinning = Writer(writer.model, writer.tokenizer, writer.text_tokenizer, prime_spacing=0.3)
    thinned = thin_sample(prime, 0.3)
    assert len(thinned) < len(prime)
    greedy = Sampling(temperature=0)
    got = thinning.write("c", greedy, prime=prime)[0]
    want = writer.write("c", greedy, prime=thinned)[0]
    np.testing.assert_array_equal(got.deltas, want.deltas)
    assert thinning.attention(got, prime).shape == writer.attention(got, thinned).shape
    # ink already that sparse (what a writer wrote, a prime thinned before) is not thinned again
    assert len(thin_sample(thinned, 0.3)) < len(thinned)  # which would drop points
    again = thinning.write("c", greedy, prime=thinned)[0]
    np.testing.assert_array_equal(again.deltas, want.deltas)


@pytest.mark.parametrize(("temperature", "top_k"), [(0.0, None), (1.0, None), (1.0, 2)])
def test_the_end_step_is_all_or_nothing(temperature, top_k):
    """Channel 0 decides: a row whose first channel picks its end id gets every channel's end id; the other
    rows never pick an end id in later channels, however likely the model makes it."""
    sampler = ChannelSampler((4, 3), 2, Sampling(temperature, top_k), torch.Generator().manual_seed(0))
    first = torch.tensor([[0.0, 0.0, 0.0, 50.0], [50.0, 0.0, 0.0, 0.0]])  # row 0 ends, row 1 does not
    later = torch.tensor([[0.0, 0.0, 50.0], [0.0, 0.0, 50.0]])  # both rows' model wants dy's end id
    for _ in range(200):
        chosen = [sampler(first, 0, [])]
        chosen.append(sampler(later, 1, chosen))
        assert chosen[0].tolist() == [3, 0]
        assert chosen[1][0] == 2 and chosen[1][1] != 2
