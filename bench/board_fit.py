"""Board fit: how many phrases land on the default whiteboard as written, with no option changed.

Usage: .venv/bin/python bench/board_fit.py [--checkpoint RUN] [--phrases N] [--random-seed S]

N (80) phrases of held-out words (trajtok.data.texts.held_out_phrases: text no training sample holds, drawn
afresh each run, the seed printed) are written as `trajtok sim write` writes them: by the model (temperature
0.8, the phrase's index as seed, layout auto) and by each of the six synthetic writers (`--synthetic
--style k`). Each is planned onto the default board (trajtok.waypoints, fit=error: refused if any point
leaves the writable area or the arm's reach). The baseline, measured in the same run on the same strokes, is
the room the board kept above and left of the first line before (ascender 2.2 units, lead 0), with fit=error
and with fit=scale.
Last line: JSON with `phrases`, `model_fit`, `model_fit_old_room`, `model_fit_scale_old_room`,
`synthetic_fit`, `synthetic_fit_old_room`, `synthetic_fit_scale_old_room` (fractions; synthetic: over the
six writers' phrases), `random_seed`, `checkpoint`.
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
from trajtok.strokes import integrate
from trajtok.waypoints import plan_waypoints
from trajtok.word_layout import write_laid_out, writes_word_by_word

TEMPERATURE = 0.8  # `trajtok sim write`'s default
OLD_ROOM = {"ascender": 2.2, "lead": 0.0}


def boards() -> dict[str, BoardConfig]:
    default = BoardConfig()
    old = dataclasses.replace(default, **OLD_ROOM)
    return {"fit": default, "fit_old_room": old, "fit_scale_old_room": dataclasses.replace(old, fit="scale")}


def fits(points: np.ndarray, board: BoardConfig) -> bool:
    try:
        plan_waypoints(points, board, resample=False)
    except ValueError:
        return False
    return True


def model_points(writer: Writer, text: str, seed: int) -> np.ndarray:
    def write(texts: list[str]):
        return writer.write(texts, Sampling(temperature=TEMPERATURE, seed=seed))

    word_by_word = writes_word_by_word("auto", writer.stitched_words)
    sample = write_laid_out(write, [text], seed, word_by_word)[0][0]
    return integrate(sample.deltas, sample.events[:, 0])


def synthetic_points(text: str, style: int, seed: int) -> np.ndarray:
    sample = synthesize(text, style_id=style, seed=seed)
    return integrate(sample.deltas, sample.events[:, 0])


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
    for i, text in enumerate(tqdm(phrases, desc="phrases", unit="phrase")):
        points = model_points(writer, text, i)
        for name, board in plans.items():
            model[name].append(fits(points, board))
        for style in range(len(STYLES)):
            points = synthetic_points(text, style, i)
            for name, board in plans.items():
                synthetic[name].append(fits(points, board))
    figures = {"phrases": len(phrases)}
    for name in plans:
        figures[f"model_{name}"] = float(np.mean(model[name]))
        figures[f"synthetic_{name}"] = float(np.mean(synthetic[name]))
    for who, rows in (("model", model), ("synthetic", synthetic)):
        print(
            f"{who:9s} on the board: {np.mean(rows['fit']):.3f} as the board is now, "
            f"{np.mean(rows['fit_old_room']):.3f} with the old room (ascender 2.2, lead 0), "
            f"{np.mean(rows['fit_scale_old_room']):.3f} with the old room and fit=scale "
            f"({len(rows['fit'])} phrases)"
        )
    for style, name in enumerate(STYLES):
        own = synthetic["fit"][style :: len(STYLES)]
        old = synthetic["fit_old_room"][style :: len(STYLES)]
        print(f"  synthetic {name.name:15s} {np.mean(own):.3f} now, {np.mean(old):.3f} with the old room")
    print(json.dumps({**figures, "random_seed": seed, "checkpoint": args.checkpoint or "shipped"}))


if __name__ == "__main__":
    main()
