"""A picture file named on the command line: its name must end in a format matplotlib writes. Checked when
the options are read, so a long run does not end unable to save what it made."""

from __future__ import annotations

import argparse
from pathlib import Path


def picture_file(value: str) -> str:
    """argparse type: `value` unchanged when its suffix is a format matplotlib saves (.png, .svg, .pdf)."""
    from matplotlib.backend_bases import FigureCanvasBase

    if Path(value).suffix.lower().lstrip(".") not in FigureCanvasBase.get_supported_filetypes():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a picture file name: end it in .png, .svg or .pdf (formats matplotlib saves)"
        )
    return value
