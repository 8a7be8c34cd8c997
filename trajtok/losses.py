"""Training losses: cross-entropy per token channel, focal loss for rare events, attention alignment, the
CTC loss of a model that also reads (model.reads), and the contrast of a style encoder's hands.

All losses take a `mask (B, T) bool` (True = a real step, False = padding) and average over real steps only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trajtok.ctc import BLANK


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, gamma: float) -> torch.Tensor:
    """Mean focal loss -(1 - p_t)^gamma * log p_t over masked steps; gamma = 0 is plain cross-entropy.

    logits (B, T, V), targets (B, T) int64. Rare classes (a pen lift is ~5% of steps) keep their gradient
    while the many easy, confidently right steps contribute little.
    """
    log_p = F.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
    loss = -log_p if gamma == 0 else -((1.0 - log_p.exp()).clamp(min=0.0) ** gamma) * log_p
    return masked_mean(loss, mask)


def channel_losses(
    logits: list[torch.Tensor],
    tokens: torch.Tensor,
    mask: torch.Tensor,
    focal_channels: set[int],
    focal_gamma: float,
) -> torch.Tensor:
    """One loss per channel, (C,): cross-entropy, or focal loss for the channels in `focal_channels`.

    logits: C tensors (B, T, V_c); tokens (B, T, C) the targets.
    """
    return torch.stack(
        [
            focal_loss(channel_logits, tokens[..., c], mask, focal_gamma if c in focal_channels else 0.0)
            for c, channel_logits in enumerate(logits)
        ]
    )


def attention_alignment_loss(
    attention: torch.Tensor, char_index: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Mean -log of the cross-attention weight on the character each step draws.

    attention (B, T, L) weights over text positions; char_index (B, T) int64 index into the text, -1 where
    unknown (padding, no-text rows, the end step, truncated text). Returns 0 when no step is aligned.
    """
    known = (char_index >= 0) & (char_index < attention.shape[-1])
    on_char = attention.float().gather(-1, char_index.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T)
    return masked_mean(-torch.log(on_char + eps), known)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def read_loss(
    log_probs: torch.Tensor, frames: torch.Tensor, text_ids: torch.Tensor, text_pad_mask: torch.Tensor
) -> torch.Tensor:
    """Mean CTC loss per character of reading the texts back (blank = id 0, [PAD]), over the rows that have
    a text: rows shown without one (no_text_fraction) teach the writer, not the reader.

    log_probs (B, F, K) and frames (B,) from StrokeTransformer.read; text_ids, text_pad_mask (B, L)."""
    lengths = (~text_pad_mask).sum(dim=1)
    rows = lengths > 0
    if not rows.any():
        return log_probs.sum() * 0.0
    return F.ctc_loss(
        log_probs[rows].transpose(0, 1),
        text_ids[rows][~text_pad_mask[rows]],
        frames[rows],
        lengths[rows],
        blank=BLANK,
        reduction="mean",
        zero_infinity=True,
    )


def style_contrast_loss(hands: torch.Tensor, writers: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss over a batch's style vectors: each row's hand should lie nearer the hands
    read from other references of its writer than those of other writers (cosine similarity / temperature).

    hands (B, d); writers (B,) int64, -1 = no reference (left out). Rows whose writer has no other row in
    the batch are left out; 0 when no row is left.
    """
    real = writers >= 0
    z = F.normalize(hands[real].float(), dim=-1)
    w = writers[real]
    n = len(w)
    if n < 2:
        return hands.sum() * 0.0
    similarity = z @ z.t() / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    log_p = similarity.masked_fill(self_mask, float("-inf")).log_softmax(-1)
    positive = (w[:, None] == w[None, :]) & ~self_mask
    has = positive.any(-1)
    if not has.any():
        return hands.sum() * 0.0
    per_row = -(log_p.masked_fill(~positive, 0.0).sum(-1) / positive.sum(-1).clamp(min=1))
    return per_row[has].mean()
