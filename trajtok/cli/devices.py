"""argparse type for a torch device, so `--device cuda` on a machine without one is refused by name when the
options are read, not by torch while the checkpoint loads (where it read as a broken checkpoint)."""

from __future__ import annotations

import argparse


def torch_device(text: str) -> str:
    """`text` unchanged when torch can run on that device here (trajtok.runtime.device_problem)."""
    from trajtok.runtime import device_problem  # torch loads only once the options are read

    if problem := device_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text
