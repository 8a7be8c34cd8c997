"""Exceptions that mean "the user asked for something wrong", as opposed to bugs.

The CLI turns these into one line on stderr and a non-zero exit; anything else keeps its traceback.
"""


class TrajtokError(Exception):
    """Base class for errors a user can fix (bad file, bad option, missing checkpoint)."""


class DataError(TrajtokError, ValueError):
    """Input data is malformed; the message names the file/record and what to do."""


class ConfigError(TrajtokError, ValueError):
    """A config file or a key=value override is invalid."""


class CheckpointError(TrajtokError):
    """A checkpoint or tokenizer file is missing or does not fit the model/data."""
