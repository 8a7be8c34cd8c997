"""`trajtok sim ...`: PyBullet scenes. `trajtok sim write "hello world"`: a Panda writes on a whiteboard."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import zipfile

import numpy as np

from trajtok.cli import allow_intermixed
from trajtok.cli import plotter as plotter_cli
from trajtok.cli.numbers import non_negative_float, random_seed
from trajtok.cli.output_files import picture_file
from trajtok.errors import DataError, TrajtokError
from trajtok.sample import Sample
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.word_layout import LAYOUTS, board_ink

OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")  # key=value, keys may be dotted (board.fit=scale)

WRITE_HELP = """A simulated Franka Panda writes on a whiteboard (PyBullet, DIRECT unless --gui).

Strokes come from --strokes (the .npz `trajtok write` saves: `points` (T, 3) [x, y, pen_lift]; or any ink
file `trajtok recognize` reads: cursive-transformer JSON, IAM-OnDB XML, stroke-3 .npz), from
--synthetic (the built-in Hershey corpus, no model needed), or else from the model (--checkpoint, default the
shipped one). Settings: the defaults in code (--print-config shows them), then --config YAML, then key=value
overrides after the text, e.g. board.letter_height_m=0.05 board.fit=scale.

Files written (OUT = --out):
  OUT                 the board as a picture (grey, 255 = clean)
  OUT as .json        metrics: tracking_rmse_mm, inked_fraction, spurious_ink_fraction, realtime_factor,
                      ocr_text and ocr_cer (Tesseract reading the board back), ...
  OUT_tracking.png    commanded vs tracked pen tip, and the tracking error in time
  --frames DIR        snapshots while writing (the scene beside the board so far)
  --gcode, --plot-svg the same strokes on the same board for a pen plotter (G-code, single-line SVG)
"""


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "sim", help="PyBullet scenes: a Panda writes on a whiteboard, or picks and places"
    )
    scenes = group.add_subparsers(dest="scene", metavar="SCENE")
    group.set_defaults(func=lambda args: _print_help(group))

    p = scenes.add_parser(
        "write",
        help="a Panda writes text on a whiteboard; board picture + metrics",
        description=WRITE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("words", nargs="*", metavar="TEXT [key=value ...]", help="text to write, then overrides")
    p.add_argument(
        "--strokes",
        metavar="FILE",
        help="strokes to write: the .npz `trajtok write` saves, or an ink file (.json, .json.zip, .xml, "
        "stroke-3 .npz), its records one after another",
    )
    p.add_argument("--synthetic", action="store_true", help="write the text in the built-in Hershey hand")
    p.add_argument("--style", type=int, default=0, help="--synthetic writer style (default: %(default)s)")
    p.add_argument("--checkpoint", help="model run directory or .pt (default: the shipped model)")
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        default=DEFAULT_TEMPERATURE,
        help="model sampling (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=random_seed, default=0, help="model / synthetic seed (default: %(default)s)"
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="as trajtok write --layout: words, line, or auto (words for a word-bank model; default)",
    )
    p.add_argument("--config", metavar="YAML", help="whiteboard config (default: the defaults in code)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    p.add_argument(
        "--out",
        default="out/board.png",
        type=picture_file,
        help="board picture to write (default: %(default)s)",
    )
    p.add_argument("--frames", metavar="DIR", help="save snapshots while writing into DIR")
    p.add_argument("--gui", action="store_true", help="watch in the PyBullet GUI")
    plotter_cli.add_arguments(p)
    p.set_defaults(func=run_write)
    allow_intermixed(p)  # key=value overrides may also come after the options

    pick = scenes.add_parser(
        "pick",
        help="a trained gripper model picks and places on fresh scenes; success rate vs the scripted expert",
        description="Fresh random scenes (never training scenes): the model reads the instruction and the "
        "cube/tray positions, generates the whole action sequence, a Panda executes it in PyBullet; the "
        "scripted expert runs on the same scenes. The last line is JSON.",
    )
    pick.add_argument(
        "--checkpoint", required=True, metavar="RUN", help="run directory or .pt of a gripper model"
    )
    pick.add_argument("--episodes", type=int, default=50, help="scenes (default: %(default)s)")
    pick.add_argument("--seed", type=random_seed, default=1, help="which scenes (default: %(default)s)")
    pick.add_argument(
        "--temperature", type=non_negative_float, default=0.0, help="sampling; 0 = greedy (default)"
    )
    pick.add_argument(
        "--out",
        default="out/pick.png",
        type=picture_file,
        help="episodes seen from above (default: %(default)s)",
    )
    pick.set_defaults(func=run_pick)


def run_write(args: argparse.Namespace) -> int:
    import yaml
    from tqdm import tqdm

    from trajtok.config import load_config, to_dict
    from trajtok.waypoints import plan_waypoints
    from trajtok_sim.ocr import character_error_rate, read_board
    from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim, save_result

    text, overrides = split_text_and_overrides(args.words)
    config = load_config(WhiteboardConfig, args.config, overrides)
    if args.print_config:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
        return 0
    words = None  # the word of each point, where the strokes' writer declares it
    if args.strokes:
        points, words, stored_text = load_strokes(args.strokes)
        text = text or stored_text
        source = args.strokes
    elif not text:
        raise ValueError("nothing to write: give the text, or --strokes FILE.npz")
    elif args.synthetic:
        points, words = synthetic_strokes(text, args.style, args.seed)
        source = f"synthetic style {args.style}"
    else:
        points, words = model_strokes(text, args.checkpoint, args.temperature, args.seed, args.layout)
        source = "model"

    waypoints = plan_waypoints(points, config.board, words=words)
    exports = plotter_cli.export(args, points, board=config.board, words=words)
    print(f"{text or '(strokes)'!r} from {source}: {len(waypoints)} waypoints, {waypoints.duration_s:.1f} s")
    bar = tqdm(total=round(waypoints.duration_s, 1), unit="sim s", file=sys.stderr, leave=False)
    with WhiteboardSim(config, gui=args.gui) as sim, bar:
        result = sim.execute(
            waypoints, progress=lambda done_s, _: bar.update(round(done_s, 1) - bar.n), frames_dir=args.frames
        )
    if text:
        x_height_px = config.board.letter_height_m * config.image_px_per_m
        try:
            ocr_text = read_board(result.board_image, x_height_px)
            result.metrics.update(ocr_text=ocr_text, ocr_cer=character_error_rate(text, ocr_text))
        except TrajtokError as exc:  # no Tesseract here: the picture and the other figures still count
            print(f"trajtok: note: OCR skipped ({exc})", file=sys.stderr)
    result.metrics.update(text=text, source=source)
    paths = save_result(result, args.out, config.board, title=text)

    print(summary(result.metrics))
    written = [*map(str, paths.values()), *map(str, exports)] + ([f"{args.frames}/"] if args.frames else [])
    print("wrote " + ", ".join(written))
    return 0


def run_pick(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from trajtok.generate import Writer
    from trajtok_sim.pick_eval import evaluate_pick

    writer = Writer.from_checkpoint(args.checkpoint)
    with tqdm(total=args.episodes, unit="episode", file=sys.stderr, leave=False) as bar:
        result = evaluate_pick(
            writer,
            args.episodes,
            args.seed,
            args.temperature,
            progress=lambda done, _: bar.update(done - bar.n),
        )
    figures = result.summary() | {"png": str(result.plot(args.out))}
    print(
        f"{figures['episodes']} fresh scenes (seed {args.seed}): model {figures['success_rate']:.1%}, "
        f"scripted expert {figures['expert_success_rate']:.1%} "
        f"({figures['relative_to_expert']:.1%} of the expert)"
    )
    print(json.dumps(figures))
    return 0


def summary(m: dict) -> str:
    parts = [
        f"tracking RMSE {m['tracking_rmse_mm']:.3f} mm",
        f"inked {m['inked_fraction']:.1%} of the pen-down path",
        f"spurious ink {m['spurious_ink_fraction']:.2%}",
        f"{m['realtime_factor']:.1f}x real time",
    ]
    if "ocr_cer" in m:
        parts.append(f"OCR {m['ocr_text']!r} (CER {m['ocr_cer']:.3f})")
    return ", ".join(parts)


def split_text_and_overrides(words: list[str]) -> tuple[str, list[str]]:
    """Positional words -> (the text, key=value overrides); the text is every word that is not key=value."""
    overrides = [w for w in words if OVERRIDE.match(w)]
    return " ".join(w for w in words if not OVERRIDE.match(w)), overrides


def load_strokes(path: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """A file of strokes -> (points (T, 3) [x, y, pen_lift] on one line, the word of each point where the
    file says, its text if stored, else ''). A page `trajtok write` (or the studio) saved has each line
    (`points_<i>`, with `words_<i>`): its lines go end to end, for the board to wrap (word_layout.end_to_end),
    as `sim write TEXT` gives it the model's lines; without them its `points` is taken as one line. Any
    other ink file (`ink_strokes`): its records end to end."""
    from trajtok.strokes import differentiate
    from trajtok.word_layout import end_to_end

    if not path.lower().endswith(".npz") or "points" not in _npz_names(path):
        return ink_strokes(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    texts = [str(t) for t in arrays["texts"].reshape(-1)] if "texts" in arrays else []
    lines = sorted((k for k in arrays if re.fullmatch(r"points_\d+", k)), key=lambda k: int(k[7:]))
    if not lines:
        return _checked_points(path, "points", arrays["points"]), None, " ".join(texts)
    samples = []
    for i, name in enumerate(lines):
        deltas, lifts = differentiate(_checked_points(path, name, arrays[name], empty_ok=True))
        words = arrays.get(f"words_{name[7:]}")
        if words is not None:
            if words.shape != (len(deltas),) or not np.issubdtype(words.dtype, np.integer):
                raise DataError(f"{path}: `words_{name[7:]}` must hold an integer word for each of `{name}`")
            words = words.astype(np.int32)
        text = texts[i] if len(texts) == len(lines) else ""
        samples.append(Sample(deltas, lifts[:, None], text=text, word_index=words))
    points, words = board_ink(end_to_end(samples))
    if not len(points):
        raise DataError(f"{path}: its lines ({', '.join(lines)}) hold no points")
    return points, words, " ".join(texts)


def _npz_names(path: str) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return list(npz.files)
    except (zipfile.BadZipFile, EOFError, ValueError, AttributeError) as exc:  # AttributeError: a bare .npy
        raise DataError(f"{path}: not a readable .npz of strokes ({exc.__class__.__name__})") from None


def ink_strokes(path: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """An ink file `trajtok recognize` reads (trajtok.ink_files: brought to handwriting units as it reads
    them) -> its records end to end on one line, as `load_strokes` returns them; a record that cannot be
    read is refused by name, never left out."""
    from trajtok.ink_files import read_ink_file
    from trajtok.word_layout import end_to_end

    records = read_ink_file(path)
    for record in records:
        if record.sample is None:
            raise DataError(f"{record.name}: {record.problem}")
    if not records:
        raise DataError(f"{path}: no records of strokes in it")
    texts = [record.truth or "" for record in records]
    samples = [dataclasses.replace(r.sample, text=text) for r, text in zip(records, texts, strict=True)]
    points, words = board_ink(end_to_end(samples))
    return points, words, " ".join(t for t in texts if t)


def _checked_points(path: str, name: str, points: np.ndarray, empty_ok: bool = False) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not (len(points) or empty_ok):
        raise DataError(f"{path}: `{name}` must be (T, 3) [x, y, pen_lift] with T > 0, got {points.shape}")
    if not np.isfinite(points).all():
        raise DataError(f"{path}: `{name}` holds NaN or infinite values")
    return points


def synthetic_strokes(text: str, style: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The text in synthetic hand `style`: (points (T, 3), the word of each point)."""
    from trajtok.data.hershey import synthesize

    return board_ink(synthesize(text, style_id=style, seed=seed))


def model_strokes(
    text: str, checkpoint: str | None, temperature: float, seed: int, layout: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """The text as the model writes it on one line for the board to wrap: whole, in the model's lines when
    it is longer than they are, or word by word (`layout`, as `trajtok write --layout`;
    trajtok.word_layout.board_pieces). (points (T, 3), the word of each point where known: the words
    written one by one, or where the model's word spacer put them)."""
    from trajtok.generate import Sampling, Writer
    from trajtok.word_layout import board_pieces, write_one_line, writes_word_by_word

    writer = Writer.from_checkpoint(checkpoint)
    sampling = Sampling(temperature=temperature, seed=seed)
    pieces = board_pieces(writer.lines(text), writes_word_by_word(layout, writer.stitched_words))
    return board_ink(write_one_line(lambda texts: writer.write(texts, sampling), pieces, seed))


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
