"""Naming a data source on the command line, the same way in every command that reads data.

    SOURCE [--split S] [--n N] [--seed K] [--option KEY=VALUE ...] [--no-cache]

SOURCE is what trajtok.data.load_source takes (hershey, bigbank, pickplace, a file or folder); each
--option goes to its loader, which refuses any it does not use.
"""

from __future__ import annotations

import argparse

import yaml

from trajtok.cli.numbers import positive_int, random_seed


def add_source_arguments(
    parser: argparse.ArgumentParser, default_split: str = "train", default_n: int | None = None
) -> None:
    parser.add_argument("source", metavar="SOURCE", help="hershey, bigbank, pickplace, or a file/folder")
    parser.add_argument(
        "--split", default=default_split, help=f"train, val, test or all (default: {default_split})"
    )
    parser.add_argument(
        "--n",
        type=positive_int,
        default=default_n,
        help=f"samples to load (default: {default_n or 'all'})",
    )
    parser.add_argument("--seed", type=random_seed, default=0, help="which samples (default: 0)")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="loader option, repeatable, e.g. max_chars=12 (hershey), events=none or gripper_threshold=20 "
        "(robot datasets); an option the loader does not use is refused",
    )
    parser.add_argument("--no-cache", dest="use_cache", action="store_false", help="rebuild, skip the cache")


def parse_options(pairs: list[str]) -> dict:
    """["events=none", "gripper_threshold=20"] -> {"events": "none", "gripper_threshold": 20} (YAML)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def load_samples(args: argparse.Namespace):
    """The SampleSet the source arguments name, with a progress bar while it is built; empty is an error."""
    from trajtok.cli.progress import progress_bar
    from trajtok.data import load_source

    with progress_bar(f"loading {args.source}", "sample") as progress:
        samples = load_source(
            args.source,
            split=args.split,
            n=args.n,
            seed=args.seed,
            use_cache=args.use_cache,
            progress=progress,
            **parse_options(args.option),
        )
    if len(samples) == 0:
        dropped = f"; dropped: {samples.dropped}" if samples.dropped else ""
        raise ValueError(f"{args.source} (split {args.split}) holds no samples{dropped}")
    return samples
