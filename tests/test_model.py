"""StrokeTransformer: shapes, causality, within-step dependency, KV cache, attention, no-text and state."""

import pytest
import torch

from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.step_decoder import StepDecoder, generate_steps

pytestmark = pytest.mark.usefixtures("one_torch_thread")


VOCAB = (13, 11, 3)  # dx, dy, pen_lift (each incl. an end id)
TEXT_VOCAB = 20


def make_model(**overrides) -> StrokeTransformer:
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=32, n_heads=2, n_enc_layers=1, n_dec_layers=2, d_ff=64, dropout=0.0, max_steps=40, max_text=12
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return StrokeTransformer(config, TEXT_VOCAB, VOCAB).eval()


def batch(b=2, L=6, T=9, seed=1):
    g = torch.Generator().manual_seed(seed)
    text = torch.randint(2, TEXT_VOCAB, (b, L), generator=g)
    pad = torch.zeros(b, L, dtype=torch.bool)
    pad[-1, L // 2 :] = True  # the last row is shorter
    text[pad] = 0
    tokens = torch.stack([torch.randint(0, v - 1, (b, T), generator=g) for v in VOCAB], dim=-1)
    return text, pad, tokens


def argmax_pick(logits, c, prev):
    return logits.argmax(-1)


def test_shapes_and_attention():
    model = make_model()
    text, pad, tokens = batch()
    out = model(text, pad, tokens, need_attention=True)
    assert [tuple(x.shape) for x in out.logits] == [(2, 9, v) for v in VOCAB]
    assert out.attention.shape == (2, 9, 6)
    assert len(out.attention_layers) == 2 and torch.equal(out.attention_layers[-1], out.attention)
    sums = out.attention.sum(-1)  # the rest of each row goes to the null token
    assert (out.attention >= 0).all() and (sums <= 1 + 1e-5).all() and (sums > 0).all()
    assert torch.all(out.attention[-1, :, 3:] == 0), "padding receives no attention"
    plain = model(text, pad, tokens)  # the scaled_dot_product_attention path gives the same logits
    assert plain.attention is None
    for a, b in zip(out.logits, plain.logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_step_t_does_not_see_later_steps():
    model = make_model()
    text, pad, tokens = batch()
    changed = tokens.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 10
    a, b = model(text, pad, tokens).logits, model(text, pad, changed).logits
    for c in range(3):
        torch.testing.assert_close(a[c][:, :5], b[c][:, :5])  # steps <= 4 unaffected
        assert not torch.allclose(a[c][:, 6:], b[c][:, 6:])  # later steps do see it


@pytest.mark.parametrize("within_step_ar", [True, False])
def test_within_step_dependency(within_step_ar):
    model = make_model(within_step_ar=within_step_ar)
    text, pad, tokens = batch()
    changed = tokens.clone()
    changed[:, 4, 0] = (changed[:, 4, 0] + 3) % 12  # change dx of step 4 only
    a, b = model(text, pad, tokens).logits, model(text, pad, changed).logits
    torch.testing.assert_close(a[0][:, 4], b[0][:, 4])  # dx logits never see their own token
    dy_depends_on_dx = not torch.allclose(a[1][:, 4], b[1][:, 4])
    event_depends_on_dx = not torch.allclose(a[2][:, 4], b[2][:, 4])
    assert dy_depends_on_dx == within_step_ar and event_depends_on_dx == within_step_ar
    changed = tokens.clone()
    changed[:, 4, 1] = (changed[:, 4, 1] + 3) % 10  # change dy of step 4 only
    a, b = model(text, pad, tokens).logits, model(text, pad, changed).logits
    torch.testing.assert_close(a[1][:, 4], b[1][:, 4])
    assert (not torch.allclose(a[2][:, 4], b[2][:, 4])) == within_step_ar


@pytest.mark.parametrize("prime_steps", [0, 4])
def test_cached_equals_uncached_and_teacher_forcing(prime_steps):
    model = make_model()
    text, pad, tokens = batch()
    memory = model.encode(text, pad)
    prime = tokens[:, :prime_steps]
    cached = torch.stack(list(generate_steps(model, memory, argmax_pick, 20, prime=prime)), dim=1)
    uncached = torch.stack(
        list(generate_steps(model, memory, argmax_pick, 20, prime=prime, use_cache=False)), dim=1
    )
    assert cached.shape == (2, 20, 3)
    assert torch.equal(cached, uncached)
    # the greedy tokens are the argmax of a teacher-forced pass over the same sequence
    full = torch.cat([prime, cached], dim=1)
    logits = model(text, pad, full).logits
    for c in range(3):
        assert torch.equal(logits[c][:, prime_steps:].argmax(-1), cached[..., c])


@pytest.mark.parametrize(("state_dim", "within_step_ar"), [(0, True), (4, True), (0, False)])
def test_step_decoder_matches_the_decoder(state_dim, within_step_ar):
    """The one-position fast path gives the hidden states, step inputs and head logits of the modules."""
    model = make_model(state_dim=state_dim, within_step_ar=within_step_ar)
    with torch.no_grad():  # random biases and norms too (they start at 0 and 1)
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    text, pad, tokens = batch()
    state = torch.randn(2, state_dim) if state_dim else None
    with torch.inference_mode():
        memory = model.encode(text, pad, state)
        inputs = model.decoder_inputs(tokens)  # (B, T, d)
        reference, _ = model.decode(inputs, model.new_cache(memory))
        cache = model.new_cache(memory, capacity=tokens.shape[1])
        model.decode(inputs[:, :3], cache)  # a prime through the modules, then one position at a time
        decoder = StepDecoder(model, cache)
        hidden = torch.stack([decoder(inputs[:, t]) for t in range(3, tokens.shape[1])], dim=1)
        torch.testing.assert_close(hidden, reference[:, 3:], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(decoder.step_input(tokens[:, 4]), inputs[:, 5], atol=1e-6, rtol=1e-6)
        for c in range(3):
            chosen = [tokens[:, 5, j] for j in range(c)]
            torch.testing.assert_close(
                decoder.channel_logits(hidden[:, 2], c, chosen),
                model.channel_logits(reference[:, 5], c, tokens[:, 5].unbind(-1)),
                atol=1e-5,
                rtol=1e-4,
            )
        with pytest.raises(ValueError, match="exceeds the decoder cache"):
            decoder(inputs[:, 0])


def test_generate_beyond_max_steps_is_an_error():
    model = make_model()
    text, pad, _ = batch()
    with pytest.raises(ValueError, match="max_steps"):
        list(generate_steps(model, model.encode(text, pad), argmax_pick, 41))


def test_empty_text_works():
    model = make_model()
    _, _, tokens = batch()
    text = torch.zeros(2, 5, dtype=torch.long)
    pad = torch.ones(2, 5, dtype=torch.bool)
    out = model(text, pad, tokens, need_attention=True)
    assert all(torch.isfinite(x).all() for x in out.logits)
    assert torch.all(out.attention == 0)  # everything went to the null token
    zero_length = model(text[:, :0], pad[:, :0], tokens)  # a batch with no text column at all
    for a, b in zip(out.logits, zero_length.logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_state_conditioning():
    model = make_model(state_dim=4)
    text, pad, tokens = batch()
    state = torch.randn(2, 4)
    a = model(text, pad, tokens, state=state).logits
    b = model(text, pad, tokens, state=state + 1).logits
    assert not torch.allclose(a[0], b[0])
    with pytest.raises(ValueError, match="state_dim=4"):
        model(text, pad, tokens)
    with pytest.raises(ValueError, match="state_dim=0"):
        make_model()(text, pad, tokens, state=state)


def test_text_longer_than_max_text_is_an_error():
    model = make_model()
    _, _, tokens = batch()
    with pytest.raises(ValueError, match="max_text"):
        model(torch.ones(1, 13, dtype=torch.long), torch.zeros(1, 13, dtype=torch.bool), tokens[:1])


def test_learns_a_sequence():
    """A few optimizer steps on one sample drive the teacher-forced loss down (gradients reach every part)."""
    model = make_model().train()
    text, pad, tokens = batch(b=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def loss_fn():
        logits = model(text, pad, tokens).logits
        return sum(
            torch.nn.functional.cross_entropy(x.flatten(0, 1), tokens[..., c].flatten())
            for c, x in enumerate(logits)
        )

    first = loss_fn().item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * first
    assert all(p.grad is not None for p in model.parameters())
