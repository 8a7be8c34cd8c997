"""`trajtok` command line: one module per command group, each with `register(subparsers)`.

This package is the only place that prints or exits. Errors a user can fix (TrajtokError, ValueError,
OSError) become one line on stderr and exit code 2; bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from trajtok import __version__

# Command groups, in the order `trajtok --help` lists them. Each module defines `register(subparsers)`.
COMMAND_MODULES = ("data", "tokenizer", "train", "write", "recognize", "sim", "studio")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trajtok",
        description="Tokenize continuous trajectories plus events, and model them with transformers.",
    )
    parser.add_argument("--version", action="version", version=f"trajtok {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"trajtok.cli.{name}").register(subparsers)
    return parser


def allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let key=value overrides come after options too (`--config F steps=10`): plain argparse stops
    filling a `*` positional at the first option, so this parser parses the intermixed way."""
    plain = parser.parse_known_args

    def intermixed(args=None, namespace=None):
        parser.parse_known_args = plain  # parse_known_intermixed_args calls parse_known_args itself
        try:
            return parser.parse_known_intermixed_args(args, namespace)
        finally:
            parser.parse_known_args = intermixed

    parser.parse_known_args = intermixed


def fail(message: str, code: int = 2) -> None:
    """Print one clean error line and exit; for user errors only."""
    print(f"trajtok: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def register_sources() -> None:
    """The named sources other packages provide: "pickplace" (trajtok_sim; the library never imports it)."""
    from trajtok_sim.demos import register

    register()


def main(argv: list[str] | None = None) -> int:
    register_sources()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from trajtok.errors import TrajtokError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("trajtok: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`trajtok ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (TrajtokError, ValueError, OSError) as exc:
        fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
