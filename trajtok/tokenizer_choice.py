"""One word picks the tokenizer: the per-step bin schemes (TrajectoryTokenizer) or the chunk schemes
(ChunkTokenizer: dct, bspline), built, rebuilt from JSON and loaded through the same three functions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trajtok.binning import SCHEMES as BIN_SCHEMES
from trajtok.chunk_tokenizer import CHUNK_SCHEMES, ChunkTokenizer
from trajtok.chunk_tokenizer import FORMAT as CHUNK_FORMAT
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.tokenizer_io import read_json

ALL_SCHEMES = BIN_SCHEMES + CHUNK_SCHEMES
AnyTokenizer = TrajectoryTokenizer | ChunkTokenizer


def make_tokenizer(
    dim_names: Sequence[str],
    event_names: Sequence[str],
    scheme: str,
    n_bins: int = 24,
    error_feedback: bool = True,
    **chunk_settings,
) -> AnyTokenizer:
    """An unfitted tokenizer of the named scheme; `chunk_settings` (chunk, scale, bpe_vocab, n_control,
    n_levels, max_vocab) apply to the chunk schemes only."""
    if scheme in CHUNK_SCHEMES:
        return ChunkTokenizer(dim_names, event_names, scheme, error_feedback=error_feedback, **chunk_settings)
    if scheme not in BIN_SCHEMES:
        raise ValueError(f"unknown tokenizer scheme {scheme!r}; choose one of {', '.join(ALL_SCHEMES)}")
    return TrajectoryTokenizer(dim_names, event_names, n_bins, scheme, error_feedback=error_feedback)


def tokenizer_from_dict(data: dict, where: str = "tokenizer") -> AnyTokenizer:
    """Either kind, by the dict's `format`."""
    if isinstance(data, dict) and data.get("format") == CHUNK_FORMAT:
        return ChunkTokenizer.from_dict(data, where)
    return TrajectoryTokenizer.from_dict(data, where)


def load_tokenizer(path: str | Path, dim_names=None, event_names=None) -> AnyTokenizer:
    """Read a saved tokenizer of either kind; with names given, check it fits data with those names."""
    tokenizer = tokenizer_from_dict(read_json(Path(path)), where=str(path))
    tokenizer.check_fits(dim_names, event_names, where=str(path))
    return tokenizer
