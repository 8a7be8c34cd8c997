"""`trajtok data list | show | stats`: what data there is, what it looks like, how its deltas spread."""

from __future__ import annotations

import argparse

import numpy as np

from trajtok.cli.numbers import positive_int, random_seed
from trajtok.cli.output_files import output_folder, picture_file
from trajtok.cli.source import add_source_arguments, load_samples


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="list, look at and measure data sources (handwriting, robot datasets); record gripper demos",
        description="Handwriting: the built-in synthetic corpus (hershey), bigbank, or a file/directory "
        "(cursive-transformer JSON, IAM-OnDB, stroke-3 .npz). Robot demonstrations: pickplace (the scripted "
        "Panda's), a LeRobot dataset, or a robomimic / robosuite HDF5 file.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="sources and whether they are available")
    listing.set_defaults(func=run_list)

    show = actions.add_parser(
        "show",
        help="save a picture of samples (handwriting with its text, or robot motion) as a PNG",
        description="Draw samples. Handwriting with its text: ink for pen-down strokes, faint dashed lines "
        "for pen-up travel, dots for the sampled points. Robot motion: positions from above and per step "
        "(the gripper shaded), anything else (joints) one panel per dim and per event.",
    )
    add_source_arguments(show, default_n=8)
    show.add_argument(
        "--columns", type=positive_int, default=2, help="handwriting panels per row (default: 2)"
    )
    show.add_argument(
        "--out", required=True, type=picture_file, metavar="FILE.png", help="where to save the picture"
    )
    show.set_defaults(func=run_show)

    stats = actions.add_parser(
        "stats",
        help="print sample statistics; save histograms of the deltas with tokenizer bin edges",
        description="Print counts, lengths, dropped samples, and per source kind its pen lifts and unknown "
        "characters or how the action columns became channels, with each dim's percentiles; fit a "
        "trajectory tokenizer to the deltas and save their histograms with its bin edges.",
    )
    add_source_arguments(stats, default_n=2000)
    stats.add_argument(
        "--bins", type=int, default=24, metavar="N", help="tokenizer bins per dim (default: 24)"
    )
    stats.add_argument("--scheme", default="adaptive", help="tokenizer bin scheme (default: adaptive)")
    stats.add_argument("--out", type=picture_file, metavar="FILE.png", help="where to save the histograms")
    stats.set_defaults(func=run_stats)

    make_gripper = actions.add_parser(
        "make-gripper",
        help="record pick-and-place demonstrations of the scripted expert in PyBullet",
        description="Random scenes (a cube, a tray), the scripted expert's end-effector deltas + gripper, "
        "each executed in PyBullet; writes DIR/gripper_demos.npz (trajtok.data.gripper), or with --format "
        "lerobot a LeRobot v3.0 dataset at DIR (trajtok.data.lerobot_export), and reports the expert's own "
        "success rate. The last line is JSON.",
    )
    make_gripper.add_argument("--episodes", type=int, default=1000, help="scenes (default: %(default)s)")
    make_gripper.add_argument(
        "--seed", type=random_seed, default=0, help="which scenes (default: %(default)s)"
    )
    make_gripper.add_argument(
        "--format", choices=("trajtok", "lerobot"), default="trajtok", help="what to write (default: trajtok)"
    )
    make_gripper.add_argument(
        "--out", required=True, type=output_folder, metavar="DIR", help="where to write the demos"
    )
    make_gripper.set_defaults(func=run_make_gripper)


def run_list(args: argparse.Namespace) -> int:
    from trajtok.data import list_sources

    sources = list_sources()
    width = max(len(source.name) for source in sources)
    for source in sources:
        status = "ok" if source.available else "--"
        print(f"{status}  {source.name:<{width}}  {source.description}\n    {source.location}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from trajtok.plot import plot_motion_grid, plot_sample_grid
    from trajtok.sample import HANDWRITING_DIMS
    from trajtok.text import counted

    samples = load_samples(args)
    shown = samples.samples[: args.n]
    if samples.dim_names == HANDWRITING_DIMS:
        path = plot_sample_grid(shown, args.out, columns=args.columns, title=f"{samples.source}")
    else:
        path = plot_motion_grid(shown, args.out, samples.dim_names, samples.event_names, title=samples.source)
    print(f"{counted(len(shown), 'sample')} from {samples.source} -> {path}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from trajtok.sample import HANDWRITING_DIMS

    samples = load_samples(args)
    lengths = np.array([len(s) for s in samples.samples])
    deltas = np.concatenate(samples.deltas())
    print(f"source        {samples.source}")
    if samples.dim_names == HANDWRITING_DIMS:
        _print_handwriting_counts(samples, lengths, _counted(samples, args))
    else:
        _print_robot_counts(samples, lengths, _counted(samples, args))
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


def _counted(samples, args: argparse.Namespace) -> str:
    """How many samples were read, of which split, whether --n cut them, and what was dropped."""
    split = "every split" if args.split == "all" else f"the {args.split} split"
    cut = f", --n {args.n} reached" if args.n is not None and len(samples) >= args.n else ""
    return f"{len(samples)} in {split}{cut} (dropped: {samples.dropped or 'none'})"


def _print_handwriting_counts(samples, lengths: np.ndarray, counted: str) -> None:
    chars = sum(len(s.text.replace(" ", "")) for s in samples.samples)
    lifts = sum(int(s.events[:, 0].sum()) for s in samples.samples)
    print(f"samples       {counted}")
    median, longest = np.median(lengths), lengths.max()
    print(f"points        {lengths.sum()} total; per sample median {median:.0f}, max {longest}")
    if chars:
        print(f"points/char   {lengths.sum() / chars:.1f}")
    print(f"strokes       {lifts} ({lifts / len(samples):.1f} per sample)")
    print(f"unknown chars {samples.unknown_chars or 'none'}")
    for key, value in samples.mapping.items():
        print(f"{key:<13} {value}")


def _print_robot_counts(samples, lengths: np.ndarray, counted: str) -> None:
    """Episodes, steps, the channel mapping the loader used, and what each gripper event does."""
    mapping = dict(samples.mapping)
    kind, fps = mapping.pop("format", "?"), mapping.pop("fps", None)
    print(f"format        {kind}" + (f", {fps:g} fps" if fps else ""))
    print(f"episodes      {counted}")
    median, longest = np.median(lengths), lengths.max()
    print(f"steps         {lengths.sum()} total; per episode median {median:.0f}, max {longest}")
    print(f"dims          {len(samples.dim_names)}: {mapping.pop('dims', ', '.join(samples.dim_names))}")
    for k, line in enumerate(mapping.pop("events", [])):
        print(f"{'events' if k == 0 else '':<13} {line}")
    for j, name in enumerate(samples.event_names):
        closed = np.concatenate([s.events[:, j] for s in samples.samples])
        closes = sum(int(np.sum(np.diff(s.events[:, j].astype(int)) == 1) + s.events[0, j]) for s in samples)
        print(
            f"{name:<13} {closes} closes ({closes / len(samples):.1f} per episode), closed on "
            f"{100 * closed.mean():.0f} % of steps"
        )
    for key, value in mapping.items():
        print(f"{key:<13} {value}")


def run_make_gripper(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from trajtok.cli.progress import progress_bar
    from trajtok.data.gripper import DEMO_FILE, write_gripper_demos
    from trajtok.data.lerobot_export import write_lerobot
    from trajtok_sim.demos import make_demos

    with progress_bar("expert demos", "episode") as progress:
        demos = make_demos(args.episodes, args.seed, progress)
    if args.format == "lerobot":
        info = write_lerobot(demos, args.out)
        path = Path(args.out)
        written = f"LeRobot {info['codebase_version']} dataset, {info['total_episodes']} successful episodes"
    else:
        path = write_gripper_demos(demos, Path(args.out) / DEMO_FILE)
        written = f"{len(demos)} episodes"
    print(f"wrote {path}: {written}, expert success rate {demos.success_rate:.1%}")
    figures = {"episodes": len(demos), "expert_success_rate": demos.success_rate, "path": str(path)}
    print(json.dumps({**figures, "format": args.format}))
    return 0
