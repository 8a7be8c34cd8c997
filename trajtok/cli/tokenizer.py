"""`trajtok tokenizer fit | stats`: fit a trajectory tokenizer to a data source; show how well one fits."""

from __future__ import annotations

import argparse

import numpy as np

from trajtok.binning import SCHEMES
from trajtok.cli.source import add_source_arguments, load_samples, positive_int
from trajtok.tokenizer import LAYOUTS, TokenizerReport, TrajectoryTokenizer, measure


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokenizer",
        help="fit a trajectory tokenizer to data, or inspect one",
        description="Fit per-dimension bins for continuous deltas (plus events); inspect how well they fit.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    fit = actions.add_parser(
        "fit",
        help="fit bins to a data source and save the tokenizer as JSON",
        description="Fit a TrajectoryTokenizer to the deltas of a data source and save it as JSON.",
    )
    add_source_arguments(fit, default_split="train")
    fit.add_argument("--scheme", choices=SCHEMES, default="adaptive", help="bin scheme (default: adaptive)")
    fit.add_argument(
        "--bins", type=at_least_two, default=24, metavar="N", help="bins per dimension (default: 24)"
    )
    fit.add_argument(
        "--layout", choices=LAYOUTS, default="factorized", help="token layout (default: factorized)"
    )
    fit.add_argument(
        "--no-error-feedback",
        dest="error_feedback",
        action="store_false",
        help="encode each delta on its own instead of against the running reconstruction error",
    )
    fit.add_argument("--no-eos", dest="eos", action="store_false", help="no end-of-sequence token")
    fit.add_argument("--out", required=True, metavar="TOKENIZER.json", help="where to write the tokenizer")
    fit.set_defaults(func=run_fit)

    stats = actions.add_parser(
        "stats",
        help="bin edges, counts, reconstruction error and drift of a tokenizer on a data source",
        description="Print per-dimension bin edges, counts, reconstruction RMSE / max error and end-point "
        "drift with and without error feedback; optionally save a histogram PNG with the bin edges.",
    )
    stats.add_argument("tokenizer", metavar="TOKENIZER.json", help="a tokenizer saved by `tokenizer fit`")
    add_source_arguments(stats, default_split="val")
    stats.add_argument("--png", metavar="FILE.png", help="save histograms of the data with the bin edges")
    stats.set_defaults(func=run_stats)


def at_least_two(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def run_fit(args: argparse.Namespace) -> int:
    samples = load_samples(args)
    tokenizer = TrajectoryTokenizer(
        samples.dim_names,
        samples.event_names,
        n_bins=args.bins,
        scheme=args.scheme,
        layout=args.layout,
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


def run_stats(args: argparse.Namespace) -> int:
    tokenizer = TrajectoryTokenizer.load(args.tokenizer)
    samples = load_samples(args)
    tokenizer.check_fits(samples.dim_names, samples.event_names, where=args.tokenizer)
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


def _describe_source(samples, report: TokenizerReport) -> str:
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
