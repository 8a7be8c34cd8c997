"""The conditional stroke transformer: text in, one decoder position per trajectory step out.

Read it top to bottom: config, attention (with a KV cache), encoder and decoder blocks, the model with its
per-channel heads. Generation (one decoder position per step, KV-cached) is in trajtok/step_decoder.py.

Tokens use the tokenizer's factorized layout: `tokens (B, T, C)`, C channels per step (dims first, e.g. dx,
dy, then events, e.g. pen_lift), each channel with its own vocabulary `vocab_sizes[c]`.

- Encoder: memory tokens `[null, state?, style?, text (L)]`. The learned null token is always there, so
  attention never sees only padding and an empty (all-pad) text works; with `state_dim > 0` a learned
  projection of the state vector is one more memory token; with `style_steps > 0` so is the hand of a
  reference sample (StyleEncoder), which is also added to every decoder input: through cross-attention
  alone it competes with the text for the attention the alignment loss gives the character being drawn.
  Text = char embedding + learned position; pre-LN self-attention.
- Decoder: the input at step t is the sum of per-channel embeddings of step t-1 (a learned start vector at
  t=0) plus the position of t; causal self-attention, cross-attention to the memory, MLP.
- Heads, autoregressive within the step (`within_step_ar=True`): logits of channel c at step t come from the
  decoder state at t plus embeddings of the step's channels < c (dx, then dy given dx, then the event given
  both). With `within_step_ar=False` every head sees only the decoder state (independent heads), which samples
  incoherent (dx, dy) pairs; bench/within_step_ar.py measures the difference.
- Reading (`reads=True`, `trajtok train multitask`): the same decoder, run the other way. The step tokens go
  in as they are (step t's embedding at position t, plus a learned read-task vector that tells the decoder
  which direction it runs), self-attention sees every step (no causal mask), cross-attention sees only the
  null memory (no text is given), and a CTC head reads READ_FRAMES frames of characters from each step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trajtok.model_config import ModelConfig

# CTC frames per step when reading: a thinned step covers ~0.4 x-heights of ink, so a narrow letter ("i",
# "l") spans 2-3 steps; two frames per step leave room for the blank CTC needs between doubled letters.
READ_FRAMES = 2
STYLE_LAYERS = 2  # self-attention layers of the style encoder over a reference sample's steps


@dataclass
class ModelOutput:
    logits: list[Tensor]  # C tensors (B, T, V_c)
    attention: Tensor | None = None  # (B, T, L) last decoder layer's cross-attention over the text, head mean
    attention_layers: list[Tensor] | None = None  # one (B, T, L) per decoder layer, same convention
    read: tuple[Tensor, Tensor] | None = None  # reading the same tokens back: StrokeTransformer.read's output
    hand: Tensor | None = None  # (B, d) the style encoder's vector of each row's hand (style models)


@dataclass
class Memory:
    """Encoder output: `n_prefix` memory tokens (null [+ state]) followed by the L text positions."""

    states: Tensor  # (B, M, d) with M = n_prefix + L
    pad_mask: Tensor  # (B, M) bool, True = padding
    n_prefix: int
    step_bias: Tensor | None = None  # (B, d) added to every decoder input: the hand, for style models


@dataclass
class DecoderCache:
    """Decoder state between calls: the memory's keys/values and, with capacity > 0, the past steps' ones.

    Self-attention keys/values live in buffers preallocated for `capacity` steps (no copying as they grow),
    one per layer holding each head's key then value side by side, so one step's are written in one copy;
    with capacity 0 nothing is kept, for one teacher-forced pass.
    """

    memory: Memory
    cross_kv: list[tuple[Tensor, Tensor]]  # per layer, each (B, h, M, hd), computed once
    self_kv: list[Tensor] | None  # per layer (B, h, capacity, 2 * hd): [key | value] per step, or None
    length: int = 0  # steps already decoded

    @property
    def capacity(self) -> int:
        return 0 if self.self_kv is None else self.self_kv[0].shape[2]

    def keys_values(self, layer: int) -> tuple[Tensor, Tensor] | None:
        """Layer's (keys, values) buffers, each a (B, h, capacity, hd) view, or None without capacity."""
        if self.self_kv is None:
            return None
        buffer = self.self_kv[layer]
        return buffer.split(buffer.shape[-1] // 2, dim=-1)


# ---------------------------------------------------------------------------------------------------------
# Attention


class Attention(nn.Module):
    """Multi-head attention; `F.scaled_dot_product_attention` unless the weights are requested."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def split_heads(self, x: Tensor) -> Tensor:  # (B, N, d) -> (B, h, N, hd)
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

    def keys_values(self, source: Tensor) -> tuple[Tensor, Tensor]:  # (B, N, d) -> 2 x (B, h, N, hd)
        k, v = self.key_value(source).chunk(2, dim=-1)
        return self.split_heads(k), self.split_heads(v)

    def forward(
        self,
        x: Tensor,  # (B, Tq, d) queries
        k: Tensor,  # (B, h, Tk, hd)
        v: Tensor,  # (B, h, Tk, hd)
        allowed: Tensor | None = None,  # bool, broadcastable to (B, h, Tq, Tk), True = may attend
        causal: bool = False,  # plain causal mask (Tq == Tk); `allowed` must then be None
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:  # (B, Tq, d), weights (B, Tq, Tk) head mean or None
        q = self.split_heads(self.query(x))
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, Tq, Tk)
            if causal:
                allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=x.device).tril()
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            probs = scores.softmax(dim=-1)
            weights = probs.mean(dim=1)
            y = F.dropout(probs, p, self.training) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p, is_causal=causal)
        b, h, n, hd = y.shape
        return self.out(y.transpose(1, 2).reshape(b, n, h * hd)), weights


def _gelu() -> nn.GELU:
    """GELU with the tanh approximation: at one position per step (generation) the exact one's erf costs
    about 4x as much, and the model learns the same with either."""
    return nn.GELU(approximate="tanh")


class MLP(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff)
        self.act = _gelu()
        self.proj = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.proj(self.act(self.fc(x))))


# ---------------------------------------------------------------------------------------------------------
# Blocks (pre-LayerNorm residual)


class EncoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln_attn = nn.LayerNorm(c.d_model)
        self.attn = Attention(c.d_model, c.n_heads, c.dropout)
        self.ln_mlp = nn.LayerNorm(c.d_model)
        self.mlp = MLP(c.d_model, c.d_ff, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: Tensor, allowed: Tensor) -> Tensor:  # x (B, M, d), allowed (B, 1, 1, M)
        h = self.ln_attn(x)
        y, _ = self.attn(h, *self.attn.keys_values(h), allowed=allowed)
        x = x + self.drop(y)
        return x + self.mlp(self.ln_mlp(x))


class DecoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln_self = nn.LayerNorm(c.d_model)
        self.self_attn = Attention(c.d_model, c.n_heads, c.dropout)
        self.ln_cross = nn.LayerNorm(c.d_model)
        self.cross_attn = Attention(c.d_model, c.n_heads, c.dropout)
        self.ln_mlp = nn.LayerNorm(c.d_model)
        self.mlp = MLP(c.d_model, c.d_ff, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(
        self,
        x: Tensor,  # (B, T, d) the new steps
        memory_kv: tuple[Tensor, Tensor],  # 2 x (B, h, M, hd)
        memory_allowed: Tensor,  # (B, 1, 1, M)
        kv_buffers: tuple[Tensor, Tensor] | None,  # 2 x (B, h, capacity, hd) holding steps < t0, or None
        t0: int,  # steps before x
        need_attention: bool,
        self_allowed: Tensor | None = None,  # (B, 1, 1, T) True = a real step: every step sees all (reading)
    ) -> tuple[Tensor, Tensor | None]:  # x (B, T, d), cross-attention weights (B, T, M) or None
        h = self.ln_self(x)
        k, v = self.self_attn.keys_values(h)
        if self_allowed is not None:
            y, _ = self.self_attn(h, k, v, allowed=self_allowed)
        else:
            y = self.causal_self_attention(h, k, v, kv_buffers, t0)
        x = x + self.drop(y)
        y, weights = self.cross_attn(
            self.ln_cross(x), *memory_kv, allowed=memory_allowed, need_weights=need_attention
        )
        x = x + self.drop(y)
        return x + self.mlp(self.ln_mlp(x)), weights

    def causal_self_attention(
        self, h: Tensor, k: Tensor, v: Tensor, kv_buffers: tuple[Tensor, Tensor] | None, t0: int
    ) -> Tensor:
        """Self-attention of the new steps over every step so far (the cached ones and themselves)."""
        if kv_buffers is not None:  # store the new steps' keys/values, attend over all steps so far
            t_all = t0 + h.shape[1]
            kv_buffers[0][:, :, t0:t_all] = k
            kv_buffers[1][:, :, t0:t_all] = v
            k, v = kv_buffers[0][:, :, :t_all], kv_buffers[1][:, :, :t_all]
        t_new, t_all = h.shape[1], k.shape[2]
        if t_new == t_all:
            return self.self_attn(h, k, v, causal=True)[0]
        if t_new == 1:  # one new step sees every past step: no mask needed
            return self.self_attn(h, k, v)[0]
        # several new steps after a cached prefix: causal mask shifted by the prefix length
        allowed = torch.ones(t_new, t_all, dtype=torch.bool, device=h.device).tril(t_all - t_new)
        return self.self_attn(h, k, v, allowed=allowed)[0]


class StyleEncoder(nn.Module):
    """A reference sample's embedded steps -> one memory token: the hand they are written in.

    Self-attention over the steps, then their mean: a summary of how the writer moves (slant, width,
    joins, speed) rather than which letters the reference shows, so the reference's text may differ from
    the text written. A row without reference steps gets the learned `no_style` token (writing in no
    particular hand, as trained on the `no_style_fraction` of batches)."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.position = nn.Embedding(c.style_steps, c.d_model)
        self.blocks = nn.ModuleList(EncoderBlock(c) for _ in range(STYLE_LAYERS))
        self.norm = nn.LayerNorm(c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.no_style = nn.Parameter(torch.zeros(1, c.d_model))

    def forward(self, steps: Tensor, mask: Tensor) -> Tensor:  # (B, R, d), (B, R) True = a step -> (B, d)
        if steps.shape[1] == 0:
            return self.no_style.expand(steps.shape[0], -1)
        has_steps = mask.any(dim=1, keepdim=True)  # (B, 1)
        x = steps + self.position.weight[: steps.shape[1]]
        allowed = (mask | ~has_steps)[:, None, None, :]  # a row without steps attends anywhere, then unused
        for block in self.blocks:
            x = block(x, allowed)
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (self.norm(x) * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return torch.where(has_steps, self.proj(pooled), self.no_style.to(pooled.dtype))


class Head(nn.Module):
    """One channel's classifier: (B, T, d) -> (B, T, V_c)."""

    def __init__(self, d_model: int, vocab_size: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, d_model)
        self.act = _gelu()
        self.proj = nn.Linear(d_model, vocab_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.act(self.fc(self.norm(x))))


# ---------------------------------------------------------------------------------------------------------
# The model


class StrokeTransformer(nn.Module):
    def __init__(self, config: ModelConfig, text_vocab_size: int, vocab_sizes: tuple[int, ...] | list[int]):
        super().__init__()
        c = config
        self.config = config
        self.text_vocab_size = int(text_vocab_size)
        self.vocab_sizes = tuple(int(v) for v in vocab_sizes)
        d = c.d_model
        # encoder
        self.char_embed = nn.Embedding(self.text_vocab_size, d)
        self.text_pos = nn.Embedding(c.max_text, d)
        self.null_memory = nn.Parameter(torch.zeros(1, 1, d))
        self.state_proj = nn.Linear(c.state_dim, d) if c.state_dim > 0 else None
        self.style_encoder = StyleEncoder(c) if c.style_steps > 0 else None
        self.encoder = nn.ModuleList(EncoderBlock(c) for _ in range(c.n_enc_layers))
        self.ln_memory = nn.LayerNorm(d)
        # decoder
        self.step_embed = nn.ModuleList(nn.Embedding(v, d) for v in self.vocab_sizes)
        self.start_step = nn.Parameter(torch.zeros(1, 1, d))
        self.step_pos = nn.Embedding(c.max_steps, d)
        self.decoder = nn.ModuleList(DecoderBlock(c) for _ in range(c.n_dec_layers))
        self.ln_out = nn.LayerNorm(d)
        self.drop = nn.Dropout(c.dropout)
        # heads; within-step conditioning embeds channels 0..C-2 (the last channel conditions nothing)
        self.heads = nn.ModuleList(Head(d, v) for v in self.vocab_sizes)
        self.within_embed = (
            nn.ModuleList(nn.Embedding(v, d) for v in self.vocab_sizes[:-1]) if c.within_step_ar else None
        )
        # reading: a task vector on every input step, and READ_FRAMES CTC frames of characters per step
        if c.reads:
            self.read_task = nn.Parameter(torch.zeros(1, 1, d))
            self.read_head = nn.Linear(d, READ_FRAMES * self.text_vocab_size)
        self.apply(_init_weights)
        nn.init.normal_(self.null_memory, std=0.02)
        nn.init.normal_(self.start_step, std=0.02)
        if c.reads:
            nn.init.normal_(self.read_task, std=0.02)
        if self.style_encoder is not None:
            nn.init.normal_(self.style_encoder.no_style, std=0.02)

    @property
    def n_channels(self) -> int:
        return len(self.vocab_sizes)

    # -- encoder ---------------------------------------------------------------------------------------
    def encode(
        self,
        text_ids: Tensor,
        text_pad_mask: Tensor,
        state: Tensor | None = None,
        style: tuple[Tensor, Tensor] | None = None,
    ) -> Memory:
        """text_ids (B, L), text_pad_mask (B, L) True=pad, state (B, S), style (reference tokens (B, R, C),
        their mask (B, R) True = a step; None: no reference) -> Memory (B, n_prefix + L, d)."""
        b, L = text_ids.shape
        if self.config.max_text < L:
            raise ValueError(f"text of {L} characters exceeds max_text={self.config.max_text}; truncate it")
        if (state is None) != (self.state_proj is None):
            raise ValueError(f"model has state_dim={self.config.state_dim} but state is {_shape(state)}")
        text = self.char_embed(text_ids) + self.text_pos(torch.arange(L, device=text_ids.device))  # (B, L, d)
        prefix = [self.null_memory.expand(b, 1, -1)]
        if self.state_proj is not None:
            prefix.append(self.state_proj(state.to(text.dtype)).unsqueeze(1))  # (B, 1, d)
        hand = None
        if self.style_encoder is not None:
            hand = self.encode_style(b, style)  # (B, d)
            prefix.append(hand.unsqueeze(1))
        elif style is not None:
            raise ValueError("this model was trained without a style encoder (model.style_steps=0)")
        x = self.drop(torch.cat([*prefix, text], dim=1))  # (B, M, d)
        pad = torch.cat([text_pad_mask.new_zeros(b, len(prefix)), text_pad_mask], dim=1)  # (B, M)
        allowed = ~pad[:, None, None, :]  # (B, 1, 1, M)
        for block in self.encoder:
            x = block(x, allowed)
        return Memory(self.ln_memory(x), pad, len(prefix), hand)

    def encode_style(self, b: int, style: tuple[Tensor, Tensor] | None) -> Tensor:
        """(B, d): the hand of each row's reference steps (at most `style_steps`), no_style where none."""
        if style is None:
            return self.style_encoder.no_style.expand(b, -1)
        tokens, mask = style
        if tokens.shape[1] > self.config.style_steps:
            raise ValueError(
                f"a style reference of {tokens.shape[1]} steps; this model reads at most "
                f"{self.config.style_steps} (model.style_steps)"
            )
        return self.style_encoder(self.embed_steps(tokens), mask)

    # -- decoder ---------------------------------------------------------------------------------------
    def embed_steps(self, tokens: Tensor) -> Tensor:
        """tokens (B, T, C) -> (B, T, d): the sum of per-channel embeddings."""
        return sum(embed(tokens[..., c]) for c, embed in enumerate(self.step_embed))

    def decoder_inputs(self, tokens: Tensor) -> Tensor:
        """Teacher forcing: tokens (B, T, C) -> inputs (B, T, d) = [start, embed(step 0), ..., embed(T-2)]."""
        start = self.start_step.expand(tokens.shape[0], 1, -1)
        return torch.cat([start, self.embed_steps(tokens[:, :-1])], dim=1)

    def new_cache(self, memory: Memory, capacity: int = 0) -> DecoderCache:
        """Decoder state for `memory`; capacity = how many steps incremental decoding may keep (0: none)."""
        cross = [block.cross_attn.keys_values(memory.states) for block in self.decoder]
        if capacity <= 0:
            return DecoderCache(memory, cross, None)
        b, h, _, hd = cross[0][0].shape
        buffers = [cross[0][0].new_empty(b, h, capacity, 2 * hd) for _ in self.decoder]
        return DecoderCache(memory, cross, buffers)

    def decode(
        self,
        inputs: Tensor,
        cache: DecoderCache,
        need_attention: bool = False,
        self_allowed: Tensor | None = None,
    ) -> tuple[Tensor, list[Tensor] | None]:
        """Run the decoder on new steps `inputs (B, T, d)` after the `cache.length` cached ones (updates it).

        Returns the hidden states (B, T, d) and, if asked, per-layer cross-attention over the text (B, T, L).
        `self_allowed (B, 1, 1, T)` replaces the causal mask (reading: every step sees every real step).
        """
        t0, t = cache.length, inputs.shape[1]
        if t0 + t > self.config.max_steps:
            raise ValueError(f"{t0 + t} steps exceed max_steps={self.config.max_steps}")
        if t0 > 0 and t0 + t > cache.capacity:
            raise ValueError(f"the decoder cache holds {cache.capacity} steps; {t0 + t} were asked for")
        memory = cache.memory
        x = inputs + self.step_pos.weight[t0 : t0 + t]
        if memory.step_bias is not None:
            x = x + memory.step_bias.unsqueeze(1)
        x = self.drop(x)
        allowed = ~memory.pad_mask[:, None, None, :]  # (B, 1, 1, M)
        layers = []
        for i, block in enumerate(self.decoder):
            x, weights = block(
                x, cache.cross_kv[i], allowed, cache.keys_values(i), t0, need_attention, self_allowed
            )
            if need_attention:
                layers.append(weights[:, :, memory.n_prefix :])  # drop null/state columns: (B, T, L)
        cache.length = t0 + t
        return self.ln_out(x), (layers if need_attention else None)

    # -- heads -----------------------------------------------------------------------------------------
    def channel_logits(self, hidden: Tensor, c: int, step_tokens: Sequence[Tensor]) -> Tensor:
        """Channel c's logits (..., V_c) from hidden (..., d) and the step's tokens of channels < c, one (...)
        tensor per channel (`tokens.unbind(-1)` of a (..., C) tensor, or the channels picked so far)."""
        x = hidden
        if self.within_embed is not None:
            for j in range(c):
                x = x + self.within_embed[j](step_tokens[j])
        return self.heads[c](x)

    def forward(
        self,
        text_ids: Tensor,  # (B, L) int64
        text_pad_mask: Tensor,  # (B, L) bool, True = pad
        tokens: Tensor,  # (B, T, C) int64
        state: Tensor | None = None,  # (B, S)
        need_attention: bool = False,
        read_mask: Tensor | None = None,  # (B, T) True = a real step: also read the tokens back (reads=True)
        style: tuple[Tensor, Tensor] | None = None,  # reference tokens (B, R, C) and mask (B, R): the hand
    ) -> ModelOutput:
        """Teacher forcing: logits[c][:, t] predicts tokens[:, t, c] from steps < t and tokens[:, t, :c].
        Both directions go through this one call, so that DistributedDataParallel sees every weight used."""
        if tokens.shape[-1] != self.n_channels:
            raise ValueError(f"tokens have {tokens.shape[-1]} channels, the model {self.n_channels}")
        memory = self.encode(text_ids, text_pad_mask, state, style)
        hidden, layers = self.decode(self.decoder_inputs(tokens), self.new_cache(memory), need_attention)
        channels = tokens.unbind(-1)
        logits = [self.channel_logits(hidden, c, channels) for c in range(self.n_channels)]
        read = None if read_mask is None else self.read(tokens, read_mask)
        if not need_attention:
            return ModelOutput(logits, read=read, hand=memory.step_bias)
        return ModelOutput(logits, layers[-1], layers, read, memory.step_bias)

    def read(self, tokens: Tensor, step_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Reading: tokens (B, T, C), step_mask (B, T) True = a real step -> (log-probabilities over the
        text tokenizer's ids, id 0 ([PAD]) being CTC's blank, (B, READ_FRAMES * T, K); frames (B,))."""
        if not self.config.reads:
            raise ValueError("this model was trained to write only (model.reads=False); it cannot read")
        b, t, _ = tokens.shape
        no_text = tokens.new_zeros(b, 0)
        cache = self.new_cache(self.encode(no_text, no_text.bool(), None))
        inputs = self.embed_steps(tokens) + self.read_task
        hidden, _ = self.decode(inputs, cache, self_allowed=step_mask[:, None, None, :])
        logits = self.read_head(hidden).view(b, t * READ_FRAMES, self.text_vocab_size)
        return torch.log_softmax(logits.float(), dim=-1), READ_FRAMES * step_mask.sum(dim=1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


def _shape(x: Tensor | None) -> str:
    return "None" if x is None else f"of shape {tuple(x.shape)}"
