"""Generation: the step loop, and one-step decoding with the decoder's weights laid out for a single position.

`generate_steps(model, memory, pick, n_steps)` yields each new step's tokens; `pick` (a
trajtok.token_sampler.ChannelSampler, or any function of the same form) chooses each channel's token.

At batch 1 and one position a step is latency-bound: about a hundred small tensor ops, each costing
microseconds of dispatch whatever its size. `StepDecoder` runs the same math as `StrokeTransformer.decode`
on one position with fewer, cheaper ops:
- 2-D `addmm` with pre-transposed weights instead of `nn.Linear` on 3-D tensors, and no module calls;
- self-attention's query, key and value from one matmul, laid out so a step's key and value go into the
  cache in one copy;
- cross-attention folded into the memory, which is fixed for the phrase: with K, V the memory's keys and
  values, head h's scores are `x (Wq_h^T K_h^T) + bq_h K_h^T` and its output projected is
  `p_h (V_h Wo_h^T)`, so the layer is two batched matmuls and a softmax (the padding goes into the score
  bias, the output bias into the projected values);
- the step's input embedding as one lookup into the channels' concatenated tables.
It shares the `DecoderCache` buffers, so a prime can be decoded with `decode` and the phrase continued here.
tests/test_model.py checks it against `decode`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trajtok.model import Attention, DecoderCache, Memory, StrokeTransformer

# pick(logits (B, V_c), channel c, the step's tokens of channels < c: c tensors (B,)) -> tokens (B,) int64
Picker = Callable[[Tensor, int, list[Tensor]], Tensor]
ChannelLogits = Callable[[Tensor, int, list[Tensor]], Tensor]
EndGate = Callable[[Tensor], Tensor]  # text attention (B, L) -> (B,) bool: may end now


@torch.inference_mode()
def generate_steps(
    model: StrokeTransformer,
    memory: Memory,
    pick: Picker,
    n_steps: int,
    prime: Tensor | None = None,  # (B, P, C) teacher-forced before generating; not yielded
    use_cache: bool = True,
    end_allowed: EndGate | None = None,
    guidance: float = 1.0,
) -> Iterator[Tensor]:
    """Yield up to `n_steps` generated steps, each (B, C) int64; the caller stops at its end event.

    With the cache each step runs one decoder position (`StepDecoder`); `use_cache=False` re-runs the whole
    prefix through the modules each step (the baseline the cache is measured against; at temperature 0 both
    give the same tokens). `end_allowed(text attention (B, L))` -> (B,) bool: which rows may take the end
    step now, given the step's last-layer cross-attention over the text (head mean); the others' end id is
    masked before channel 0 is picked.

    `guidance` != 1 (classifier-free guidance): `memory` holds 2B rows, the B phrases conditioned (on a
    style) and then the same B without that condition; each channel's logits are `u + guidance * (c - u)`
    of the two, and both rows of a phrase go on with the token picked. The gate sees the conditioned rows'
    attention, and B steps are yielded.
    """
    rows = memory.states.shape[0]
    b = rows if guidance == 1.0 else rows // 2
    if rows != b and rows != 2 * b:
        raise ValueError(f"guidance needs a memory of 2 x B rows (conditioned, then not); it has {rows}")
    inputs = model.start_step.expand(rows, 1, -1)  # (rows, 1, d): inputs not yet run through the decoder
    if prime is not None and prime.shape[1] > 0:
        inputs = torch.cat([inputs, model.embed_steps(_both(prime, rows))], dim=1)
    end_id = model.vocab_sizes[0] - 1
    if not use_cache:
        for _ in range(n_steps):
            hidden, layers = model.decode(
                inputs, model.new_cache(memory), need_attention=end_allowed is not None
            )
            gated = pick if end_allowed is None else _gate(pick, end_allowed(layers[-1][:b, -1]), end_id)
            logits = _guided(model.channel_logits, guidance, b)
            step = pick_step(hidden[:, -1], gated, logits, model.n_channels)
            yield step
            inputs = torch.cat([inputs, model.embed_steps(_both(step, rows)[:, None])], dim=1)
        return
    cache = model.new_cache(memory, capacity=inputs.shape[1] + n_steps)
    if inputs.shape[1] > 1:  # the prime in one pass, then one position per step
        model.decode(inputs[:, :-1], cache)
    decoder = StepDecoder(model, cache)
    logits = _guided(decoder.channel_logits, guidance, b)
    x = inputs[:, -1]  # (rows, d)
    for _ in range(n_steps):
        hidden = decoder(x)
        gated = pick if end_allowed is None else _gate(pick, end_allowed(decoder.text_attention[:b]), end_id)
        step = pick_step(hidden, gated, logits, model.n_channels)
        yield step
        x = decoder.step_input(_both(step, rows))


def _both(tokens: Tensor, rows: int) -> Tensor:
    """B phrases' tokens for the `rows` decoder rows: as they are, or twice (guidance)."""
    return tokens if tokens.shape[0] == rows else torch.cat([tokens, tokens])


def _guided(channel_logits: ChannelLogits, guidance: float, b: int) -> ChannelLogits:
    """Channel logits of 2B rows (conditioned, then not) -> B guided rows; `channel_logits` itself at 1."""
    if guidance == 1.0:
        return channel_logits

    def guided(hidden: Tensor, c: int, chosen: list[Tensor]) -> Tensor:
        both = channel_logits(hidden, c, [torch.cat([t, t]) for t in chosen])
        conditioned, free = both[:b], both[b:]
        return free + guidance * (conditioned - free)

    return guided


def _gate(pick: Picker, allowed: Tensor, end_id: int) -> Picker:
    """`pick` with channel 0's end id masked in the rows not `allowed` (B,) to end."""
    if bool(allowed.all()):
        return pick

    def gated(logits: Tensor, c: int, chosen: list[Tensor]) -> Tensor:
        if c == 0:
            logits = logits.clone()
            logits[~allowed, end_id] = float("-inf")
        return pick(logits, c, chosen)

    return gated


def pick_step(hidden: Tensor, pick: Picker, channel_logits: ChannelLogits, n_channels: int) -> Tensor:
    """One step's tokens (B, C), channel by channel, from the last hidden state (B, d)."""
    chosen: list[Tensor] = []
    for c in range(n_channels):
        chosen.append(pick(channel_logits(hidden, c, chosen), c, chosen))
    return torch.stack(chosen, dim=1)


def _transposed(*linears: nn.Linear) -> tuple[Tensor, Tensor]:
    """(weight^T (in, out), bias (out,)) of linears applied to the same input, outputs concatenated."""
    weight = torch.cat([linear.weight for linear in linears])
    return weight.t().contiguous(), torch.cat([linear.bias for linear in linears])


def _norm(norm: nn.LayerNorm) -> tuple[Tensor, Tensor]:
    return norm.weight, norm.bias


def _head_interleaved(attention: Attention) -> tuple[Tensor, Tensor]:
    """Self-attention's query, key and value as one map whose output is (h, 3 * hd): each head's query, key
    and value side by side, so the key and value land in one copy into the cache's [key | value] rows."""
    h = attention.n_heads
    q_w, q_b = attention.query.weight, attention.query.bias  # (d, d), (d,)
    k_w, v_w = attention.key_value.weight.chunk(2)
    k_b, v_b = attention.key_value.bias.chunk(2)
    d_in = q_w.shape[1]
    weight = torch.stack([w.reshape(h, -1, d_in) for w in (q_w, k_w, v_w)], dim=1)  # (h, 3, hd, d_in)
    bias = torch.stack([b.reshape(h, -1) for b in (q_b, k_b, v_b)], dim=1)  # (h, 3, hd)
    return weight.reshape(-1, d_in).t().contiguous(), bias.reshape(-1)


def _folded_cross_attention(
    attention: Attention, keys: Tensor, values: Tensor, pad_mask: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Cross-attention over a fixed memory as (score weights (B, d, h*M), score bias (B, 1, h*M),
    projected values (B, h*M, d)); keys/values (B, h, M, hd), pad_mask (B, M) True = padding.

    The output projection's bias is spread over each head's rows (a head's weights sum to 1)."""
    b, h, m, hd = keys.shape
    scale = 1.0 / math.sqrt(hd)
    wq = attention.query.weight.view(h, hd, -1)  # (h, hd, d)
    bq = attention.query.bias.view(h, 1, hd)
    weights = torch.einsum("hed,bhme->bdhm", wq, keys).reshape(b, -1, h * m) * scale
    bias = (bq @ keys.transpose(-2, -1)).reshape(b, 1, h * m) * scale  # (B, h, 1, M) -> (B, 1, h*M)
    bias = bias.masked_fill(pad_mask.repeat(1, h)[:, None, :], float("-inf"))
    wo = attention.out.weight.view(-1, h, hd)  # (d, h, hd)
    projected = torch.einsum("bhme,dhe->bhmd", values, wo) + attention.out.bias / h
    return weights, bias, projected.reshape(b, h * m, -1)


class StepDecoder:
    """Decode one position at a time after the `cache.length` steps already in `cache` (which it updates);
    inference only (no dropout), the weights as they are when it is made."""

    def __init__(self, model: StrokeTransformer, cache: DecoderCache):
        if cache.self_kv is None:
            raise ValueError("StepDecoder needs a cache with capacity (model.new_cache(memory, capacity=N))")
        self.cache = cache
        self.n_heads = model.config.n_heads
        self.n_memory = cache.memory.states.shape[1]
        self.n_prefix = cache.memory.n_prefix
        self._last_probs: Tensor | None = None  # (B, 1, h*M) the last step's last-layer attention
        self.limit = min(cache.capacity, model.config.max_steps)
        self.positions = model.step_pos.weight
        self.step_table = torch.cat([embed.weight for embed in model.step_embed])  # (sum V_c, d)
        sizes = torch.tensor((0, *model.vocab_sizes[:-1]), device=self.step_table.device)
        self.step_offsets = sizes.cumsum(0)  # (C,) first row of each channel's table
        self.layers = [
            (
                *_norm(block.ln_self),
                *_head_interleaved(block.self_attn),
                *_transposed(block.self_attn.out),
                cache.self_kv[i],
                *cache.keys_values(i),
                *_norm(block.ln_cross),
                *_folded_cross_attention(block.cross_attn, *cache.cross_kv[i], cache.memory.pad_mask),
                *_norm(block.ln_mlp),
                *_transposed(block.mlp.fc),
                *_transposed(block.mlp.proj),
            )
            for i, block in enumerate(model.decoder)
        ]
        self.gelu = model.decoder[0].mlp.act.approximate  # "tanh" or "none", as the model was built
        self.norm_out = _norm(model.ln_out)
        self.heads = [(*_norm(h.norm), *_transposed(h.fc), *_transposed(h.proj)) for h in model.heads]
        self.within = None if model.within_embed is None else [e.weight for e in model.within_embed]

    @property
    def text_attention(self) -> Tensor:
        """(B, L) the last step's last-layer cross-attention over the text, head mean (computed on request:
        only the end gate asks for it)."""
        b = self._last_probs.shape[0]
        return self._last_probs.view(b, self.n_heads, self.n_memory)[:, :, self.n_prefix :].mean(1)

    def step_input(self, step: Tensor) -> Tensor:
        """step tokens (B, C) -> the next position's input (B, d): the sum of the channels' embeddings."""
        return F.embedding(step + self.step_offsets, self.step_table).sum(1)

    def __call__(self, x: Tensor) -> Tensor:
        """x (B, d) the new position's input -> its final hidden state (B, d)."""
        t = self.cache.length
        if t >= self.limit:
            raise ValueError(f"step {t + 1} exceeds the decoder cache or max_steps ({self.limit})")
        b, d = x.shape
        h, m, gelu = self.n_heads, self.n_memory, self.gelu
        hd = d // h
        x = x + self.positions[t]
        if self.cache.memory.step_bias is not None:
            x = x + self.cache.memory.step_bias
        shape = (d,)
        for (
            ln1_w, ln1_b, qkv_w, qkv_b, out1_w, out1_b, kv_cache, keys, values,
            ln2_w, ln2_b, score_w, score_b, projected_v,
            ln3_w, ln3_b, mlp1_w, mlp1_b, mlp2_w, mlp2_b,
        ) in self.layers:  # fmt: skip
            qkv = torch.addmm(qkv_b, F.layer_norm(x, shape, ln1_w, ln1_b), qkv_w).view(b, h, 1, 3 * hd)
            kv_cache.narrow(2, t, 1).copy_(qkv.narrow(-1, hd, 2 * hd))  # this step's [key | value] per head
            y = F.scaled_dot_product_attention(
                qkv.narrow(-1, 0, hd), keys.narrow(2, 0, t + 1), values.narrow(2, 0, t + 1)
            )
            x = x + torch.addmm(out1_b, y.reshape(b, d), out1_w)
            scores = torch.baddbmm(score_b, F.layer_norm(x, shape, ln2_w, ln2_b).unsqueeze(1), score_w)
            probs = scores.view(b, h, m).softmax(-1).view(b, 1, h * m)
            x = x + torch.bmm(probs, projected_v).view(b, d)
            hidden = torch.addmm(mlp1_b, F.layer_norm(x, shape, ln3_w, ln3_b), mlp1_w)
            x = x + torch.addmm(mlp2_b, F.gelu(hidden, approximate=gelu), mlp2_w)
        self.cache.length = t + 1
        self._last_probs = probs
        return F.layer_norm(x, shape, *self.norm_out)

    def channel_logits(self, hidden: Tensor, c: int, chosen: list[Tensor]) -> Tensor:
        """Channel c's logits (B, V_c) from hidden (B, d) and the step's tokens of channels < c (c x (B,))."""
        if self.within is not None:
            for j in range(c):
                hidden = hidden + F.embedding(chosen[j], self.within[j])
        ln_w, ln_b, hidden_w, hidden_b, out_w, out_b = self.heads[c]
        x = torch.addmm(hidden_b, F.layer_norm(hidden, hidden.shape[-1:], ln_w, ln_b), hidden_w)
        x = F.gelu(x, approximate=self.gelu)
        return torch.addmm(out_b, x, out_w)
