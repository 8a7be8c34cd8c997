"""A model's weights under a word bank's data config: what `trajtok train handwriting` records for a run on
lines stitched from single words (configs/handwriting-wordbank.yaml), so the tools lay its lines out word by
word (`Writer.stitched_words`)."""

from __future__ import annotations

from pathlib import Path

from trajtok.checkpoint import load_checkpoint, save_checkpoint

WORD_BANK_DATA = {"source": "bigbank", "words_per_sample": [1, 4]}


def as_word_bank_model(source: str | Path | None, path: Path) -> Path:
    """`source` (a run, a .pt, None: the shipped model) saved at `path` as a model trained on a word bank."""
    loaded = load_checkpoint(source)
    extra = {**loaded.extra, "train_config": {"data": WORD_BANK_DATA}}
    save_checkpoint(path, loaded.model, loaded.tokenizer, loaded.text_tokenizer, loaded.model_config, extra)
    return path
