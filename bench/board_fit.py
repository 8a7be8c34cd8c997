"""Board fit: how many phrases land on the default whiteboard as written, with no option changed.

Usage: .venv/bin/python bench/board_fit.py [--checkpoint RUN] [--phrases N] [--random-seed S]

N (80) phrases of held-out words (trajtok.data.texts.held_out_phrases: text no training sample holds, drawn
afresh each run, the seed printed) are written as `trajtok sim write` writes them: by the model (the default
temperature, the phrase's index as seed, layout auto, in the model's lines) and by each of the six synthetic
writers (`--synthetic --style k`). Each is planned onto the default board (trajtok.waypoints, fit=error:
refused if any point leaves the writable area or the arm's reach). The baseline, measured in the same run on
the same strokes, is the room the board kept above and left of the first line before (ascender 2.2 units, lead
0), with fit=error and with fit=scale.
Where lines may wrap is where the board's word segmenter (trajtok.word_segmenter) puts word starts: where
the strokes' writer declares each point's word (the synthetic writers always; the model where it writes a
phrase word by word, or where its word spacer, which reads the attended character, decides the words), by
those, else at the gaps (one blank-column threshold, `board.word_gap`, across the hand's slant). Printed:
the share of phrases where the gaps alone give as many words as the phrase has, and for the synthetic ones
where they give more (a word split) or fewer (words run together); the share of the model's phrases whose
declared words are the phrase's (`model_words_declared`); and, measured in the same run, the phrases on the
board with the gaps alone (`model_fit_gaps_only`, `synthetic_fit_gaps_only`: as `trajtok sim write` did
before it passed the words on).
Last line: JSON with `phrases`, `model_fit`, `model_fit_old_room`, `model_fit_scale_old_room`,
`model_fit_gaps_only`, `synthetic_fit`, `synthetic_fit_old_room`, `synthetic_fit_scale_old_room`,
`synthetic_fit_gaps_only` (fractions; synthetic: over the six writers' phrases), `model_words_found`,
`model_words_declared`, `synthetic_words_found`,
`synthetic_words_split`, `synthetic_words_run_together`, `random_seed`, `checkpoint`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets

import numpy as np
import torch
from tqdm import tqdm

from trajtok.board import BoardConfig
from trajtok.data.hershey import STYLES, synthesize
from trajtok.data.texts import held_out_phrases
from trajtok.generate import Sampling, Writer
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.waypoints import plan_waypoints
from trajtok.word_layout import board_ink, board_pieces, write_one_line, writes_word_by_word
from trajtok.word_segmenter import WordSegmenter

OLD_ROOM = {"ascender": 2.2, "lead": 0.0}


def boards() -> dict[str, BoardConfig]:
    default = BoardConfig()
    old = dataclasses.replace(default, **OLD_ROOM)
    return {"fit": default, "fit_old_room": old, "fit_scale_old_room": dataclasses.replace(old, fit="scale")}


def fits(points: np.ndarray, board: BoardConfig, words: np.ndarray | None) -> bool:
    try:
        plan_waypoints(points, board, resample=False, words=words)
    except ValueError:
        return False
    return True


def words_found(points: np.ndarray, board: BoardConfig) -> int:
    """How many words the board's segmenter finds in the points by their gaps alone."""
    segmenter = WordSegmenter(board.wrap, board.word_gap)
    for x, y, lift in points:
        segmenter.add_point(np.array([x, y]), lift > 0.5)
    segmenter.finish()
    return len(segmenter.word_starts)


def model_ink(writer: Writer, text: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    def write(texts: list[str]):
        return writer.write(texts, Sampling(temperature=DEFAULT_TEMPERATURE, seed=seed))

    pieces = board_pieces(writer.lines(text), writes_word_by_word("auto", writer.stitched_words))
    return board_ink(write_one_line(write, pieces, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="model run directory or .pt (default: the shipped model)")
    parser.add_argument("--phrases", type=int, default=80)
    parser.add_argument("--random-seed", type=int, help="repeat a draw (default: a fresh one, printed)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one step at a time is fastest on one thread
    seed = secrets.randbits(31) if args.random_seed is None else args.random_seed
    phrases = held_out_phrases(args.phrases, seed)
    print(f"{len(phrases)} phrases of held-out words, --random-seed {seed}")
    writer = Writer.from_checkpoint(args.checkpoint)
    plans = boards()
    model = {name: [] for name in plans}
    synthetic = {name: [] for name in plans}
    gaps_only, model_gaps_only = [], []  # phrases on the default board, the words left to the gaps
    found, model_found = [], []  # words the gaps give minus words in the phrase
    model_declared = []  # the model's declared words are the phrase's
    for i, text in enumerate(tqdm(phrases, desc="phrases", unit="phrase")):
        points, words = model_ink(writer, text, i)
        model_found.append(words_found(points, plans["fit"]) - len(text.split()))
        declared = [] if words is None else sorted(set(words.tolist()))
        model_declared.append(declared == list(range(len(text.split()))))
        for name, board in plans.items():
            model[name].append(fits(points, board, words))
        model_gaps_only.append(fits(points, plans["fit"], None))
        for style in range(len(STYLES)):
            points, words = board_ink(synthesize(text, style_id=style, seed=i))
            found.append(words_found(points, plans["fit"]) - len(text.split()))
            for name, board in plans.items():
                synthetic[name].append(fits(points, board, words))
            gaps_only.append(fits(points, plans["fit"], None))
    figures = {"phrases": len(phrases)}
    for name in plans:
        figures[f"model_{name}"] = float(np.mean(model[name]))
        figures[f"synthetic_{name}"] = float(np.mean(synthetic[name]))
    figures["synthetic_fit_gaps_only"] = float(np.mean(gaps_only))
    figures["model_fit_gaps_only"] = float(np.mean(model_gaps_only))
    figures["model_words_declared"] = float(np.mean(model_declared))
    found, model_found = np.array(found), np.array(model_found)
    figures["model_words_found"] = float(np.mean(model_found == 0))
    figures["synthetic_words_found"] = float(np.mean(found == 0))
    figures["synthetic_words_split"] = float(np.mean(found > 0))
    figures["synthetic_words_run_together"] = float(np.mean(found < 0))
    for who, rows in (("model", model), ("synthetic", synthetic)):
        print(
            f"{who:9s} on the board: {np.mean(rows['fit']):.3f} as the board is now, "
            f"{np.mean(rows['fit_old_room']):.3f} with the old room (ascender 2.2, lead 0), "
            f"{np.mean(rows['fit_scale_old_room']):.3f} with the old room and fit=scale "
            f"({len(rows['fit'])} phrases)"
        )
    print(
        f"synthetic on the board with the words left to the gaps: {np.mean(gaps_only):.3f} "
        f"(with the declared words: {np.mean(synthetic['fit']):.3f})"
    )
    print(
        f"model on the board with the words left to the gaps: {np.mean(model_gaps_only):.3f}; the gaps "
        f"give the phrase's words in {np.mean(model_found == 0):.3f}, its declared words are the phrase's "
        f"in {np.mean(model_declared):.3f}"
    )
    for style, name in enumerate(STYLES):
        own = synthetic["fit"][style :: len(STYLES)]
        old = synthetic["fit_old_room"][style :: len(STYLES)]
        gaps = gaps_only[style :: len(STYLES)]
        words = found[style :: len(STYLES)]
        print(
            f"  synthetic {name.name:15s} {np.mean(own):.3f} now, {np.mean(old):.3f} with the old room, "
            f"{np.mean(gaps):.3f} with the gaps alone; the gaps give the words {np.mean(words == 0):.3f}, "
            f"split {np.mean(words > 0):.3f}, run together {np.mean(words < 0):.3f} "
            f"(word_gap {plans['fit'].word_gap})"
        )
    print(json.dumps({**figures, "random_seed": seed, "checkpoint": args.checkpoint or "shipped"}))


if __name__ == "__main__":
    main()
