"""`trajtok tokenizer fit | stats`: fit a trajectory tokenizer to a data source; show how well one fits."""

from __future__ import annotations

import argparse

import numpy as np

from trajtok.chunk_tokenizer import CHUNK_SCHEMES, ChunkTokenizer
from trajtok.cli.numbers import positive_int
from trajtok.cli.output_files import output_file, picture_file
from trajtok.cli.progress import progress_bar
from trajtok.cli.source import add_source_arguments, load_samples
from trajtok.round_trip import RoundTripReport, measure_round_trip
from trajtok.tokenizer import LAYOUTS, TokenizerReport, TrajectoryTokenizer, measure
from trajtok.tokenizer_choice import ALL_SCHEMES, load_tokenizer, make_tokenizer
from trajtok.train_config import TokenizerConfig

# the chunk schemes' settings: option -> TokenizerConfig field (its defaults are the CLI's)
CHUNK_OPTIONS = {
    "chunk": "steps per chunk",
    "scale": "dct: coefficient scale before rounding (higher: finer, more tokens)",
    "bpe_vocab": "dct: byte-pair vocabulary size",
    "n_control": "bspline: control points per dim and chunk",
    "n_levels": "bspline: quantization levels per control point",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokenizer",
        help="fit a trajectory tokenizer to data, or inspect one",
        description="Fit a tokenizer to continuous deltas plus events (per-dimension bins, or dct / bspline "
        "chunks); inspect how well it fits.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    fit = actions.add_parser(
        "fit",
        help="fit bins to a data source and save the tokenizer as JSON",
        description="Fit a tokenizer (per-step bins, or dct / bspline chunks) to the deltas and events of a "
        "data source and save it as JSON.",
    )
    add_source_arguments(fit, default_split="train")
    defaults = TokenizerConfig()
    fit.add_argument(
        "--scheme",
        choices=ALL_SCHEMES,
        default=defaults.scheme,
        help=f"per-step bins or chunks: {', '.join(CHUNK_SCHEMES)} (default: {defaults.scheme})",
    )
    fit.add_argument(
        "--bins",
        type=at_least_two,
        default=None,
        metavar="N",
        help=f"per-step schemes: bins per dimension (default: {defaults.n_bins})",
    )
    fit.add_argument(
        "--layout", choices=LAYOUTS, default=None, help="per-step schemes: token layout (default: factorized)"
    )
    for name, what in CHUNK_OPTIONS.items():
        kind = float if name == "scale" else at_least_two
        fit.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=None,
            metavar="X" if kind is float else "N",
            help=f"{what} (default: {getattr(defaults, name)})",
        )
    fit.add_argument(
        "--no-error-feedback",
        dest="error_feedback",
        action="store_false",
        help="encode each delta on its own instead of against the running reconstruction error",
    )
    fit.add_argument("--no-eos", dest="eos", action="store_false", help="no end-of-sequence token")
    fit.add_argument(
        "--out",
        required=True,
        type=output_file,
        metavar="TOKENIZER.json",
        help="where to write the tokenizer",
    )
    fit.set_defaults(func=run_fit)

    stats = actions.add_parser(
        "stats",
        help="bin edges, counts, reconstruction error and drift of a tokenizer on a data source",
        description="Print per-dimension bin edges, counts, reconstruction RMSE / max error and end-point "
        "drift with and without error feedback; optionally save a histogram PNG with the bin edges.",
    )
    stats.add_argument("tokenizer", metavar="TOKENIZER.json", help="a tokenizer saved by `tokenizer fit`")
    add_source_arguments(stats, default_split="val")
    stats.add_argument(
        "--png",
        type=picture_file,
        metavar="FILE.png",
        help="save histograms of the data with the bin edges (chunk schemes: true vs decoded trajectories)",
    )
    stats.set_defaults(func=run_stats)


def at_least_two(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def run_fit(args: argparse.Namespace) -> int:
    chunked = args.scheme in CHUNK_SCHEMES
    _refuse_foreign_options(args, chunked)
    samples = load_samples(args)
    if chunked:
        return _fit_chunks(args, samples)
    tokenizer = TrajectoryTokenizer(
        samples.dim_names,
        samples.event_names,
        n_bins=args.bins or TokenizerConfig.n_bins,
        scheme=args.scheme,
        layout=args.layout or "factorized",
        error_feedback=args.error_feedback,
        eos=args.eos,
    )
    deltas = samples.deltas()
    tokenizer.fit(deltas)
    path = tokenizer.save(args.out)
    report = measure(tokenizer, deltas)
    print(f"fitted on {_describe_source(samples, report)}")
    print(_describe_tokenizer(tokenizer))
    print(
        f"on the fitting data: RMSE {report.rmse:.4g}, end-point drift {report.drift_plain:.4g} plain -> "
        f"{report.drift_feedback:.4g} with error feedback"
    )
    print(f"wrote {path}")
    return 0


def _refuse_foreign_options(args: argparse.Namespace, chunked: bool) -> None:
    """Each option belongs to one kind of scheme; one given to the other kind is an error, not ignored."""
    if chunked:
        given = [f"--{n}" for n in ("bins", "layout") if getattr(args, n) is not None]
        given += [] if args.eos else ["--no-eos"]
        kind = (
            f"the chunk scheme {args.scheme} (chunk tokenizers are one flat stream that always ends in EOS)"
        )
    else:
        given = [f"--{n.replace('_', '-')}" for n in CHUNK_OPTIONS if getattr(args, n) is not None]
        kind = f"the per-step scheme {args.scheme} (those options set the chunk schemes {CHUNK_SCHEMES})"
    if given:
        raise ValueError(f"{', '.join(given)}: not an option of {kind}; drop it or pick another --scheme")


def _fit_chunks(args: argparse.Namespace, samples) -> int:
    defaults = TokenizerConfig()
    settings = {
        n: getattr(defaults, n) if getattr(args, n) is None else getattr(args, n) for n in CHUNK_OPTIONS
    }
    tokenizer = make_tokenizer(
        samples.dim_names, samples.event_names, args.scheme, error_feedback=args.error_feedback, **settings
    )
    deltas, events = samples.deltas(), samples.events()
    tokenizer.fit(deltas, events)
    path = tokenizer.save(args.out)
    with progress_bar("measuring the round trip", "pass") as progress:
        report = measure_round_trip(tokenizer, deltas, events, progress)
    print(
        f"fitted on {samples.source or '?'}: {report.n_trajectories:,} trajectories, {report.n_steps:,} steps"
    )
    print(_describe_chunks(tokenizer))
    print(
        f"on the fitting data: {report.tokens_per_step:.3g} tokens a step "
        f"({report.compression(tokenizer.n_events):.2f}x fewer than per-step bins), RMSE {report.rmse:.4g}, "
        f"end-point drift {report.drift_plain:.4g} plain -> {report.drift_feedback:.4g} with error feedback"
    )
    print(f"wrote {path}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    tokenizer = load_tokenizer(args.tokenizer)
    samples = load_samples(args)
    tokenizer.check_fits(samples.dim_names, samples.event_names, where=args.tokenizer)
    if isinstance(tokenizer, ChunkTokenizer):
        return _chunk_stats(args, tokenizer, samples)
    deltas = samples.deltas()
    report = measure(tokenizer, deltas)
    print(f"tokenizer {args.tokenizer}: {_describe_tokenizer(tokenizer)}")
    print(f"data: {_describe_source(samples, report)}")
    print()
    print(_summary_table(report))
    print()
    print(
        f"end-point drift (mean / max over trajectories): plain {report.drift_plain:.4g} / "
        f"{report.drift_plain_max:.4g}, error feedback {report.drift_feedback:.4g} / "
        f"{report.drift_feedback_max:.4g} (x{report.drift_ratio:.3g})"
    )
    for dim in report.dims:
        print()
        print(_bin_table(dim))
    if args.png:
        from trajtok.plot import plot_bin_histograms

        title = f"{args.tokenizer} on {samples.source or args.source}"
        print(f"\nwrote {plot_bin_histograms(tokenizer, deltas, args.png, title=title)}")
    return 0


def _chunk_stats(args: argparse.Namespace, tokenizer: ChunkTokenizer, samples) -> int:
    deltas, events = samples.deltas(), samples.events()
    with progress_bar("measuring the round trip", "pass") as progress:
        report = measure_round_trip(tokenizer, deltas, events, progress)
    print(f"tokenizer {args.tokenizer}: {_describe_chunks(tokenizer)}")
    print(f"data: {_describe_source(samples, report)}")
    print()
    per_step = tokenizer.n_dims + tokenizer.n_events
    print(
        f"tokens: {report.n_tokens:,} ({report.tokens_per_step:.3g} a step, EOS included); per-step bins "
        f"take {per_step} a step: {report.compression(tokenizer.n_events):.2f}x compression"
    )
    rows = [f"{'dim':<10} {'RMSE':>10} {'max error':>10} {'clipped':>9} {'decodable range':>24}"]
    for j, name in enumerate(tokenizer.dim_names):
        lo, hi = tokenizer.value_range[j]
        rows.append(
            f"{name:<10} {report.dim_rmse[j]:>10.4g} {report.dim_max_error[j]:>10.4g} "
            f"{int(report.clipped[j]):>9,} {f'[{lo:.4g}, {hi:.4g}]':>24}"
        )
    worst, clipped = report.dim_max_error.max(), int(report.clipped.sum())
    rows.append(f"{'all':<10} {report.rmse:>10.4g} {worst:>10.4g} {clipped:>9,}")
    print("\n".join(rows))
    print()
    print(
        f"end-point drift (mean / max over trajectories): plain {report.drift_plain:.4g} / "
        f"{report.drift_plain_max:.4g}, error feedback {report.drift_feedback:.4g} / "
        f"{report.drift_feedback_max:.4g}"
    )
    if args.png:
        from trajtok.plot import plot_reconstruction

        title = f"{args.tokenizer} on {samples.source or args.source}: true vs decoded (error feedback)"
        shown = samples.samples[:4]
        written = plot_reconstruction(
            shown,
            report.decoded[:4],
            tokenizer.dim_names,
            args.png,
            title=title,
            event_names=tokenizer.event_names,
        )
        print(f"\nwrote {written}")
    return 0


def _describe_chunks(tokenizer: ChunkTokenizer) -> str:
    events = f" + events {', '.join(tokenizer.event_names)}" if tokenizer.event_names else ""
    content = (
        f"scale {tokenizer.scale:g}, BPE vocabulary {tokenizer.bpe_vocab}"
        if tokenizer.scheme == "dct"
        else f"{tokenizer.n_control} control points x {tokenizer.n_levels} levels"
    )
    return (
        f"{tokenizer.scheme} chunks of {tokenizer.chunk} steps ({content}) over dims "
        f"{', '.join(tokenizer.dim_names)}{events}; vocab {tokenizer.vocab_size}; "
        f"error feedback {_on_off(tokenizer.error_feedback)}"
    )


def _describe_source(samples, report: TokenizerReport | RoundTripReport) -> str:
    return f"{samples.source or '?'}: {report.n_trajectories:,} trajectories, {report.n_steps:,} steps"


def _describe_tokenizer(tokenizer: TrajectoryTokenizer) -> str:
    events = f" + events {', '.join(tokenizer.event_names)}" if tokenizer.event_names else ""
    return (
        f"{tokenizer.scheme} bins, {tokenizer.n_bins} per dim {', '.join(tokenizer.dim_names)}{events}; "
        f"{tokenizer.layout} layout, vocab sizes {tokenizer.vocab_sizes}; "
        f"error feedback {_on_off(tokenizer.error_feedback)}, EOS {_on_off(tokenizer.eos)}"
    )


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def _summary_table(report: TokenizerReport) -> str:
    rows = [f"{'dim':<10} {'RMSE':>10} {'max error':>10} {'clipped':>9} {'range':>24}"]
    for dim in report.dims:
        span = f"[{dim.edges[0]:.4g}, {dim.edges[-1]:.4g}]"
        rows.append(f"{dim.name:<10} {dim.rmse:>10.4g} {dim.max_error:>10.4g} {dim.clipped:>9,} {span:>24}")
    clipped = sum(d.clipped for d in report.dims)
    rows.append(f"{'all':<10} {report.rmse:>10.4g} {report.max_error:>10.4g} {clipped:>9,}")
    return "\n".join(rows)


def _bin_table(dim) -> str:
    total = max(int(dim.counts.sum()), 1)
    rows = [
        f"bins of {dim.name} (value: what the bin decodes to; count: values of this data in the bin)",
        f"{'bin':>4} {'from':>11} {'to':>11} {'value':>11} {'count':>10} {'share':>7}",
    ]
    for k in range(len(dim.values)):
        rows.append(
            f"{k:>4} {dim.edges[k]:>11.4g} {dim.edges[k + 1]:>11.4g} {dim.values[k]:>11.4g} "
            f"{int(dim.counts[k]):>10,} {100 * dim.counts[k] / total:>6.1f}%"
        )
    shares = dim.counts / total
    rows.append(f"{'':>4} smallest / largest share {100 * shares.min():.1f}% / {100 * np.max(shares):.1f}%")
    return "\n".join(rows)
