"""Files named on the command line for a command to write. Checked when the options are read, so a long run
does not end unable to save what it made: the folder must be one this user can create a file in, and a
picture's name must end in a format matplotlib writes."""

from __future__ import annotations

import argparse
import errno
import tempfile
from pathlib import Path


def output_file(value: str) -> str:
    """argparse type: `value` unchanged when a file of that name can be written (its missing parent folders
    are made when it is written)."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a folder: name a file to write")
    _check_can_create_in(path.absolute().parent, value)
    return value


def output_folder(value: str) -> str:
    """argparse type: `value` unchanged when it is a folder, or can be made one, that takes new files."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a file: name a folder to write in")
    _check_can_create_in(path.absolute(), value)
    return value


def _check_can_create_in(folder: Path, value: str) -> None:
    """Refuse `value` unless the nearest existing one of `folder` and its parents is a folder this user can
    create a file in: tried with a temporary file, as permissions alone do not say (root, /proc, read-only
    mounts)."""
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {value!r}: {str(folder)!r} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = "it takes no new files" if exc.errno == errno.ENOENT else exc.strerror or type(exc).__name__
        raise argparse.ArgumentTypeError(
            f"cannot write {value!r}: no file can be made in {str(folder)!r} ({reason})"
        ) from None


def picture_file(value: str) -> str:
    """argparse type: `value` unchanged when its suffix is a format matplotlib saves (.png, .svg, .pdf)
    and the file can be written."""
    from matplotlib.backend_bases import FigureCanvasBase

    if Path(value).suffix.lower().lstrip(".") not in FigureCanvasBase.get_supported_filetypes():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a picture file name: end it in .png, .svg or .pdf (formats matplotlib saves)"
        )
    return output_file(value)
