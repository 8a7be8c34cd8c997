"""`trajtok data list | show | stats`: what data there is, what it looks like, how its deltas spread."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import yaml


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="list, look at and measure handwriting data sources",
        description="Handwriting data: the built-in synthetic corpus (hershey), bigbank, or a file/directory "
        "(cursive-transformer JSON, IAM-OnDB, stroke-3 .npz).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="sources and whether they are available")
    listing.set_defaults(func=run_list)

    show = actions.add_parser(
        "show",
        help="save a grid of samples with their text as a PNG",
        description="Draw samples with their text: ink for pen-down strokes, faint dashed lines for pen-up "
        "travel, dots for the sampled points.",
    )
    _add_source_arguments(show, default_n=8)
    show.add_argument("--columns", type=int, default=2, help="panels per row (default: 2)")
    show.add_argument("--out", required=True, metavar="FILE.png", help="where to save the grid")
    show.set_defaults(func=run_show)

    stats = actions.add_parser(
        "stats",
        help="print sample statistics; save histograms of the deltas with tokenizer bin edges",
        description="Print counts, lengths, pen lifts, dropped samples and unknown characters; fit a "
        "trajectory tokenizer to the deltas and save their histograms with its bin edges.",
    )
    _add_source_arguments(stats, default_n=2000)
    stats.add_argument(
        "--bins", type=int, default=24, metavar="N", help="tokenizer bins per dim (default: 24)"
    )
    stats.add_argument("--scheme", default="adaptive", help="tokenizer bin scheme (default: adaptive)")
    stats.add_argument("--out", metavar="FILE.png", help="where to save the histograms")
    stats.set_defaults(func=run_stats)

    make_gripper = actions.add_parser(
        "make-gripper",
        help="record pick-and-place demonstrations of the scripted expert in PyBullet",
        description="Random scenes (a cube, a tray), the scripted expert's end-effector deltas + gripper, "
        "each executed in PyBullet; writes DIR/gripper_demos.npz (trajtok.data.gripper) and reports the "
        "expert's own success rate. The last line is JSON.",
    )
    make_gripper.add_argument("--episodes", type=int, default=1000, help="scenes (default: %(default)s)")
    make_gripper.add_argument("--seed", type=int, default=0, help="which scenes (default: %(default)s)")
    make_gripper.add_argument("--out", required=True, metavar="DIR", help="where to write the demos")
    make_gripper.set_defaults(func=run_make_gripper)


def _add_source_arguments(parser: argparse.ArgumentParser, default_n: int) -> None:
    parser.add_argument("source", metavar="SOURCE", help="hershey, bigbank, or a file/directory path")
    parser.add_argument("--split", default="train", help="train, val, test or all (default: train)")
    parser.add_argument("--n", type=int, default=default_n, help=f"samples to load (default: {default_n})")
    parser.add_argument("--seed", type=int, default=0, help="which samples (default: 0)")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="source option, repeatable: max_chars (hershey); max_points, max_jump (files)",
    )
    parser.add_argument(
        "--no-cache", dest="use_cache", action="store_false", help="rebuild, ignore the cache"
    )


def _parse_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def _load(args: argparse.Namespace):
    from tqdm import tqdm

    from trajtok.data import load_source

    if args.n is not None and args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total, desc=f"loading {args.source}", unit="sample", file=sys.stderr, leave=False
            )
        bar.update(done - bar.n)

    try:
        samples = load_source(
            args.source,
            split=args.split,
            n=args.n,
            seed=args.seed,
            use_cache=args.use_cache,
            progress=progress,
            **_parse_options(args.option),
        )
    finally:
        if bar is not None:
            bar.close()
    if len(samples) == 0:
        raise ValueError(f"{args.source} (split {args.split}) holds no samples; dropped: {samples.dropped}")
    return samples


def run_list(args: argparse.Namespace) -> int:
    from trajtok.data import list_sources

    for source in list_sources():
        status = "ok" if source.available else "--"
        print(f"{status}  {source.name:<18} {source.description}\n    {source.location}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from trajtok.plot import plot_motion_grid, plot_sample_grid
    from trajtok.sample import HANDWRITING_DIMS

    samples = _load(args)
    shown = samples.samples[: args.n]
    if samples.dim_names == HANDWRITING_DIMS:
        path = plot_sample_grid(shown, args.out, columns=max(1, args.columns), title=f"{samples.source}")
    else:
        path = plot_motion_grid(shown, args.out, samples.dim_names, samples.event_names, title=samples.source)
    print(f"{len(shown)} samples from {samples.source} -> {path}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    samples = _load(args)
    lengths = np.array([len(s) for s in samples.samples])
    chars = sum(len(s.text.replace(" ", "")) for s in samples.samples)
    lifts = sum(int(s.events[:, 0].sum()) for s in samples.samples)
    deltas = np.concatenate(samples.deltas())
    print(f"source        {samples.source}")
    print(f"samples       {len(samples)} (dropped: {samples.dropped or 'none'})")
    median, longest = np.median(lengths), lengths.max()
    print(f"points        {lengths.sum()} total; per sample median {median:.0f}, max {longest}")
    if chars:
        print(f"points/char   {lengths.sum() / chars:.1f}")
    print(f"strokes       {lifts} ({lifts / len(samples):.1f} per sample)")
    print(f"unknown chars {samples.unknown_chars or 'none'}")
    for j, name in enumerate(samples.dim_names):
        p1, p50, p99 = np.percentile(deltas[:, j], [1, 50, 99])
        largest = np.abs(deltas[:, j]).max()
        print(f"{name:<13} p1 {p1:+.3f}  median {p50:+.3f}  p99 {p99:+.3f}  max|.| {largest:.3f}")
    if args.out:
        from trajtok.plot import plot_bin_histograms
        from trajtok.tokenizer import TrajectoryTokenizer

        tokenizer = TrajectoryTokenizer(
            samples.dim_names, samples.event_names, n_bins=args.bins, scheme=args.scheme
        )
        tokenizer.fit(samples.deltas())
        title = f"{samples.source}: {len(samples)} samples, {args.scheme} bins x {args.bins}"
        print(f"histograms -> {plot_bin_histograms(tokenizer, samples.deltas(), args.out, title=title)}")
    return 0


def run_make_gripper(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from tqdm import tqdm

    from trajtok.data.gripper import DEMO_FILE, make_gripper_dataset

    with tqdm(total=args.episodes, unit="episode", file=sys.stderr, leave=False) as bar:
        demos = make_gripper_dataset(
            args.episodes, args.seed, args.out, progress=lambda done, _: bar.update(done - bar.n)
        )
    path = Path(args.out) / DEMO_FILE
    print(f"wrote {path}: {len(demos)} episodes, expert success rate {demos.success_rate:.1%}")
    print(json.dumps({"episodes": len(demos), "expert_success_rate": demos.success_rate, "path": str(path)}))
    return 0
