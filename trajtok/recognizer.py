"""The online handwriting recognizer: re-sampled ink rows in, per-frame character log-probabilities out (CTC).

    features (B, N, F) --Conv1d k5 s2, ReLU--> --Conv1d k5 s2, ReLU--> (B, ceil(N/4), C)
        --encoder--> (B, T, E) --Linear--> log-probabilities over [blank] + the text tokenizer's symbols

The two strided convolutions read local pen shape and cut the frame rate by 4 (a letter is ~30 re-sampled
points, ~8 frames: enough for CTC's blanks between doubled letters). The encoder is a 2-layer bidirectional
LSTM (`encoder="bilstm"`, the default) or a transformer encoder (`encoder="transformer"`); the README
gives the measurement that chose the default. Class 0 is CTC's blank, which is the text
tokenizer's [PAD] id, so the other classes are the CharTokenizer ids unchanged.

Padded batches give every sample exactly what it gets alone: conv outputs past a sample's length are zeroed
before the next layer, and the LSTM runs on packed sequences (the transformer masks the padding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from trajtok.ink_features import FEATURES, ink_features
from trajtok.sample import Sample

KERNEL, STRIDE = 5, 2


@dataclass
class RecognizerConfig:
    resample_step: float = 0.15  # x-heights of ink between re-sampled points
    conv_channels: int = 128
    encoder: Literal["bilstm", "transformer"] = "bilstm"
    hidden: int = 128  # bilstm: units per direction; transformer: d_model = 2 * hidden
    layers: int = 2
    heads: int = 4  # transformer only
    dropout: float = 0.1


def frames_after_conv(n: Tensor | int) -> Tensor | int:
    """Frames one strided convolution makes of n inputs (ceil(n / STRIDE))."""
    return (n + STRIDE - 1) // STRIDE


def frames_after_convs(n: Tensor | int) -> Tensor | int:
    """Frames the two strided convolutions make of n re-sampled points."""
    return frames_after_conv(frames_after_conv(n))


class InkReader(nn.Module):
    def __init__(self, config: RecognizerConfig, n_classes: int):
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        c, h = config.conv_channels, config.hidden
        self.conv1 = nn.Conv1d(len(FEATURES), c, KERNEL, STRIDE, KERNEL // 2)
        self.conv2 = nn.Conv1d(c, c, KERNEL, STRIDE, KERNEL // 2)
        self.dropout = nn.Dropout(config.dropout)
        width = 2 * h
        if config.encoder == "bilstm":
            self.lstm = nn.LSTM(
                c, h, config.layers, batch_first=True, bidirectional=True, dropout=config.dropout
            )
        else:
            self.project = nn.Linear(c, width)
            layer = nn.TransformerEncoderLayer(
                width, config.heads, 4 * width, config.dropout, batch_first=True, norm_first=True
            )
            self.transformer = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, n_classes)

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """features (B, N, F) padded, lengths (B,) -> (log-probabilities (B, T, K), frame lengths (B,))."""
        x = features.transpose(1, 2)  # (B, F, N)
        n = lengths
        for conv in (self.conv1, self.conv2):
            x = torch.relu(conv(x))
            n = frames_after_conv(n)
            x = x * (torch.arange(x.shape[2], device=x.device)[None, :] < n[:, None])[:, None, :]
        x = self.dropout(x.transpose(1, 2))  # (B, T, C)
        if self.config.encoder == "bilstm":
            packed = pack_padded_sequence(x, n.cpu(), batch_first=True, enforce_sorted=False)
            x, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        else:
            x = self.project(x) + sinusoids(x.shape[1], 2 * self.config.hidden, x.device)
            pad = torch.arange(x.shape[1], device=x.device)[None, :] >= n[:, None]
            x = self.transformer(x, src_key_padding_mask=pad)
        return torch.log_softmax(self.head(self.dropout(x)), dim=-1), n

    def features(self, sample: Sample) -> np.ndarray:
        """A readable sample (ink_features.check_ink) -> the (N, len(FEATURES)) rows this reader reads."""
        return ink_features(sample, self.config.resample_step)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def sinusoids(length: int, width: int, device: torch.device) -> Tensor:
    """(length, width) fixed sinusoidal positions (the transformer encoder's only sense of order)."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, device=device) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width, device=device)
    out[:, 0::2] = torch.sin(position * rate)
    out[:, 1::2] = torch.cos(position * rate)
    return out
