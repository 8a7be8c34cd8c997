"""`trajtok write "hello world"`: handwriting from a trained model as PNG/SVG pictures and .npz strokes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trajtok.cli import plotter as plotter_cli
from trajtok.cli.devices import torch_device
from trajtok.cli.numbers import non_negative_float, positive_int, probability, random_seed
from trajtok.cli.output_files import picture_file
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.seeds import fresh_seed
from trajtok.word_layout import LAYOUTS, board_ink, end_to_end, write_laid_out, writes_word_by_word

HELP = """Write phrases with a trained handwriting model.

Several phrases (TEXT, and --from FILE's lines) go onto one page, one line each, top to bottom; a phrase
longer than the lines the model was trained on is cut at blanks onto several lines. Files written (OUT =
--out):
  OUT            the page as ink only (PNG, or SVG if OUT ends in .svg); with --svg also OUT as .svg
  OUT as .npz    `points` (T, 3) absolute [x, y, pen_lift] of the whole page as drawn, `points_<i>` each
                 line at its own origin, `texts` the lines
  --attention    cross-attention heatmap (stroke steps x characters), one panel per phrase
  --gcode        the page for a pen plotter as G-code; --plot-svg as a single-line SVG (page size in mm);
                 laid out on the board of --plotter YAML (`board:` keys, default: the whiteboard's)
--check reads every phrase back with the recognizer (trajtok recognize) and prints what it read.
--drafts N writes each line N times (the first with the given sampling, the others at temperature >= 0.5)
and keeps the draft a recognizer (--draft-reader, default the shipped one) reads best: its probability of
the line's text given the ink (trajtok.drafts); with --layout words, of each word.
--layout words writes each word of a line alone and lays the words out on the line with the word gaps a
word bank's lines were trained with (trajtok.word_layout); --layout line writes each line whole. The
default (auto) is words for a model trained on lines stitched from single words (a word bank,
configs/handwriting-wordbank.yaml: it writes the later words of a whole line worse than a word alone),
line for any other.
--style FILE (a cursive-transformer .json/.json.zip or a `trajtok write` .npz with `texts`: 1-5 samples of
one hand, each with its text) or --style-source SPEC --style-index i,j writes the phrases in that hand: the
samples are laid out as one line (trajtok.style); a model trained with a style encoder (model.style_steps)
reads that line's hand, any other continues the line with each phrase (priming).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "write",
        help="write phrases with a trained handwriting model (PNG/SVG/NPZ)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "texts",
        nargs="*",
        metavar="TEXT",
        help="phrase(s) to write, one line each (or more when longer than the model's lines)",
    )
    p.add_argument(
        "--from",
        dest="phrases_file",
        metavar="FILE",
        help="also write the phrases of this text file, one a line, after any TEXT (blank lines are skipped; "
        "- reads standard input)",
    )
    p.add_argument("--checkpoint", help="run directory or .pt file (default: the shipped model)")
    p.add_argument(
        "--out", default="out/write.png", type=picture_file, help="picture to write (default: %(default)s)"
    )
    p.add_argument("--svg", action="store_true", help="also write an SVG beside the PNG")
    p.add_argument(
        "--attention", type=picture_file, metavar="PNG", help="save the cross-attention heatmap here"
    )
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        default=DEFAULT_TEMPERATURE,
        help="0 = greedy (default: %(default)s)",
    )
    p.add_argument("--top-k", type=positive_int, help="sample among the k likeliest tokens")
    p.add_argument("--top-p", type=probability, help="sample from the smallest set holding this probability")
    p.add_argument(
        "--seed", type=random_seed, help="random seed (default: a fresh one each run, printed at the end)"
    )
    p.add_argument(
        "--max-steps", type=positive_int, help="step limit per phrase (default: scaled to the text length)"
    )
    p.add_argument(
        "--prime-source", metavar="SPEC", help="data source of a real sample to continue the style of"
    )
    p.add_argument("--prime-index", type=int, default=0, help="which sample of --prime-source (default: 0)")
    p.add_argument("--style", metavar="FILE", help="write in the hand of the 1-5 samples in this file")
    p.add_argument(
        "--style-source", metavar="SPEC", help="data source of the samples to write in the hand of"
    )
    p.add_argument(
        "--style-index",
        default="0",
        metavar="I,J,...",
        help="which samples of --style-source, one writer's: records in file order (default: %(default)s)",
    )
    p.add_argument(
        "--style-guidance",
        type=float,
        metavar="G",
        help="a style-encoder model: how strongly the style steers (classifier-free guidance; 1, the "
        "default, is the plain pass)",
    )
    p.add_argument(
        "--check",
        nargs="?",
        const="",
        metavar="RECOGNIZER",
        help="read each phrase back with the recognizer (default: the shipped one) and print what it reads",
    )
    p.add_argument(
        "--drafts",
        type=int,
        default=1,
        metavar="N",
        help="write each line N times and keep the draft --draft-reader reads best (default: %(default)s)",
    )
    p.add_argument(
        "--draft-reader",
        metavar="RECOGNIZER",
        help="the recognizer that chooses among the drafts (run directory or .pt; default: the shipped one)",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="words: write each word alone and lay the words out; line: each line whole (default: auto, "
        "words for a model trained on a word bank's stitched words, else line)",
    )
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device (default: %(default)s)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default: %(default)s; one step at a time is fastest on one thread)",
    )
    plotter_cli.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from trajtok.generate import Sampling, Writer
    from trajtok.ink_files import save_written
    from trajtok.page_lines import stack_lines
    from trajtok.plot import plot_attention, render_ink
    from trajtok.strokes import integrate
    from trajtok.style import check_fits

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    check_conditioning_options(args)
    check_draft_options(args)
    args.texts = [*args.texts, *(read_phrases(args.phrases_file) if args.phrases_file else [])]
    if not args.texts:
        raise ValueError("nothing to write: give a phrase (TEXT) or a file of them (--from FILE)")
    writer = Writer.from_checkpoint(args.checkpoint, device=args.device)
    for text in args.texts:  # before any style is read (the writer would refuse it too, later)
        if not text.strip():  # the model would write the scribble it learned for a blank text
            raise ValueError(f"phrase {text!r} is empty: give the text to write")
        if problem := writer.text_tokenizer.alphabet_problem(text):
            raise ValueError(f"phrase: {problem}")
    prime = load_prime(args.prime_source, args.prime_index) if args.prime_source else None
    style = None
    if args.style or args.style_source:
        hand = style_of(args, writer)
        style, prime = (hand, None) if writer.encodes_style else (None, hand)
    if prime is not None and (args.style or args.style_source):
        check_fits(prime, args.texts, writer.line_chars)  # a word too long for what is left beside the prime
    lines = wrapped(args.texts, writer, prime)
    if args.style_guidance is not None and style is None:
        raise ValueError(
            "--style-guidance steers a style read by a style encoder: give --style with such a model"
        )
    guidance = Sampling().style_guidance if args.style_guidance is None else args.style_guidance
    seed = fresh_seed() if args.seed is None else args.seed  # said at the end, to write it again
    sampling = Sampling(args.temperature, args.top_k, args.top_p, seed, args.max_steps, guidance)
    word_by_word = writes_word_by_word(args.layout, writer.stitched_words)
    if word_by_word and args.layout == "auto":
        print("layout: word by word (a word-bank model writes a word best alone; --layout line: whole lines)")
    samples, pieces = write_lines(writer, lines, sampling, prime, style, args, word_by_word)
    phrases = [integrate(s.deltas, s.events[:, 0]) for s in samples]
    page = stack_lines(phrases)

    out = Path(args.out)
    pictures = [out] + ([out.with_suffix(".svg")] if args.svg and out.suffix != ".svg" else [])
    for picture in pictures:
        render_ink(page, picture)
    npz = out.with_suffix(".npz")
    save_written(npz, page, phrases, lines, [s.word_index for s in samples])
    board_points, board_words = board_ink(end_to_end(samples))  # a plotter wraps at its own width
    written = [*pictures, npz, *plotter_cli.export(args, board_points, words=board_words)]
    drawn = [p for line in pieces for p in line if len(p)]  # ended at once: no attention to show
    if args.attention and drawn:
        attentions = [writer.attention(s, prime, style) for s in drawn]
        texts = [writer.conditioning_text(s.text, prime) for s in drawn]
        written.append(plot_attention(attentions, texts, args.attention))

    reads = check_reads(samples, args.check) if args.check is not None else None
    for i, (sample, line) in enumerate(zip(samples, pieces, strict=True)):
        budgets = [writer.phrase_limit(p.text, sampling, prime) for p in line]
        cut = [p.text for p, budget in zip(line, budgets, strict=True) if len(p) >= budget]
        if len(line) == 1:
            how = "ended" if not cut else f"cut at the {budgets[0]}-step limit"
        else:
            how = f"{len(line)} words written apart, " + (
                "ended" if not cut else f"cut at the limit: {', '.join(cut)}"
            )
        read = "" if reads is None else f"; the recognizer reads {reads[i]!r}"
        print(f"{sample.text!r}: {len(sample)} steps, {how}{read}")
    print("wrote " + ", ".join(map(str, written)))
    if args.seed is None and args.temperature > 0:  # greedy writes the same whatever the seed
        print(f"seed {seed} (--seed {seed} writes the same again)")
    return 0


def write_lines(writer, lines, sampling, prime, style, args, word_by_word: bool):
    """The lines as written, each the best of --drafts N drafts (trajtok.drafts), whole or laid out from
    their words written alone (`word_by_word`, trajtok.word_layout): (the lines, what was written for
    each: the line itself, or its words)."""
    if args.drafts == 1:

        def write(texts):
            return writer.write(texts, sampling, prime=prime, style=style)
    else:
        from trajtok.drafts import write_drafts
        from trajtok.recognize import Recognizer

        reader = Recognizer.from_checkpoint(args.draft_reader, device=args.device)
        each = "word" if word_by_word else "line"
        print(f"drafts: {args.drafts} per {each}, chosen by {args.draft_reader or 'the shipped recognizer'}")

        def write(texts):
            return write_drafts(writer, texts, sampling, args.drafts, reader, prime=prime, style=style)

    return write_laid_out(write, lines, sampling.seed, word_by_word)


def check_reads(samples, recognizer_path: str) -> list[str]:
    from trajtok.recognize import Recognizer, read_back

    recognizer = Recognizer.from_checkpoint(recognizer_path or None)
    return read_back(samples, recognizer)[0]


def load_prime(spec: str, index: int):
    if index < 0:
        raise ValueError(f"--prime-index must be >= 0, got {index}")
    return load_indexed(spec, [index], "--prime-index")[0]


def load_indexed(spec: str, indices: list[int], option: str) -> list:
    """Samples `indices` of source `spec`: of the synthetic training stream (each made alone), else of every
    sample of the source in file order (all splits); a ValueError naming `option` when one does not exist."""
    from trajtok.data import load_source
    from trajtok.data.hershey import stream_sample

    if spec == "hershey":
        return [stream_sample(i) for i in indices]
    samples = load_source(spec, split="all")
    if len(samples) <= max(indices):
        raise ValueError(f"{spec}: has {len(samples)} samples, so {option} {max(indices)} does not exist")
    return [samples[i] for i in indices]


def check_draft_options(args: argparse.Namespace) -> None:
    if args.drafts < 1:
        raise ValueError(f"--drafts must be >= 1, got {args.drafts}")
    if args.draft_reader and args.drafts == 1:
        raise ValueError("--draft-reader chooses among drafts: give --drafts N (N >= 2) with it")


def check_conditioning_options(args: argparse.Namespace) -> None:
    """One way to condition the hand at a time, checked before the model loads."""
    chosen = [
        f"--{name}"
        for name in ("prime-source", "style", "style-source")
        if getattr(args, name.replace("-", "_"))
    ]
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} together: give one (a style is primed itself)")


def style_of(args: argparse.Namespace, writer):
    """The samples of --style FILE or --style-source SPEC --style-index i,j laid out as one line, checked
    against the model's alphabet and, for a model that is primed with them (no style encoder), against the
    length of the lines it learned."""
    from trajtok.style import MAX_STYLE_SAMPLES, StyleError, from_samples, load_style, style_prime
    from trajtok.text import counted

    if args.style:
        samples = load_style(args.style)
        if len(samples) > MAX_STYLE_SAMPLES:
            raise StyleError(
                f"{args.style}: holds {len(samples)} samples; a style takes 1-{MAX_STYLE_SAMPLES}: "
                f"choose them with --style-source {args.style} --style-index 0,1,2"
            )
    else:
        indices = parse_indices(args.style_index)
        chosen = load_indexed(args.style_source, indices, "--style-index")
        samples = from_samples(chosen, [f"{args.style_source}: sample {i}" for i in indices])
    hand = style_prime(samples, writer.text_tokenizer)
    if writer.encodes_style:
        print(
            f"style: {counted(len(samples), 'sample')} of one hand ({hand.text!r}), read by the style encoder"
        )
    else:
        print(f"style: {counted(len(samples), 'sample')} of one hand, primed as {hand.text!r}")
    return hand


def read_phrases(name: str) -> list[str]:
    """The non-blank lines of a text file (UTF-8), or of standard input for '-'."""
    if name == "-":
        text = sys.stdin.read()
    else:
        path = Path(name)
        if not path.is_file():
            raise ValueError(
                f"--from {name}: " + ("a folder; give a text file" if path.is_dir() else "no such file")
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"--from {name}: not UTF-8 text; give a text file of phrases, one a line"
            ) from None
    phrases = [line.strip() for line in text.splitlines() if line.strip()]
    if not phrases:
        raise ValueError(f"--from {name}: no phrase in it (every line is blank)")
    return phrases


def wrapped(texts: list[str], writer, prime) -> list[str]:
    """The phrases as lines the model can write (`Writer.lines`), saying which were cut."""
    lines = []
    for text in texts:
        cut = writer.lines(text, prime)
        if len(cut) > 1:
            width = writer.line_width(prime)
            print(f"{text!r}: {len(text)} characters, written as {len(cut)} lines of at most {width}")
        lines += cut
    return lines


def parse_indices(text: str) -> list[int]:
    """--style-index "0,3" -> [0, 3]: distinct integers >= 0."""
    try:
        indices = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--style-index expects integers like 0,3; got {text!r}") from None
    if min(indices) < 0 or len(set(indices)) != len(indices):
        raise ValueError(f"--style-index expects distinct integers >= 0; got {text!r}")
    return indices
