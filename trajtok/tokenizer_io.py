"""Saving, loading and name checks shared by both tokenizer kinds (TrajectoryTokenizer, ChunkTokenizer)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from trajtok.errors import DataError


def read_json(path: Path) -> dict:
    """A saved tokenizer's JSON; DataError naming the file when it is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}); refit the tokenizer") from None
    except IsADirectoryError:
        raise DataError(f"{path}: a folder; give the tokenizer's .json file inside it") from None
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: not a tokenizer's JSON (binary, not text); give the file `trajtok tokenizer fit` wrote"
        ) from None


class SavedTokenizer:
    """`save` / `load` / `check_fits` (and the name counts) for a class with `to_dict`, `from_dict(data,
    where)`, `dim_names` and `event_names`."""

    dim_names: tuple[str, ...]
    event_names: tuple[str, ...]

    @property
    def n_dims(self) -> int:
        return len(self.dim_names)

    @property
    def n_events(self) -> int:
        return len(self.event_names)

    def save(self, path: str | Path) -> Path:
        """Write versioned JSON atomically (temp file + rename); creates the parent folder."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
        temporary.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(temporary, path)
        return path

    @classmethod
    def load(
        cls,
        path: str | Path,
        dim_names: Sequence[str] | None = None,
        event_names: Sequence[str] | None = None,
    ):
        """Read a saved tokenizer; with dim_names / event_names given, check it fits data with those names."""
        tokenizer = cls.from_dict(read_json(Path(path)), where=str(path))
        tokenizer.check_fits(dim_names, event_names, where=str(path))
        return tokenizer

    def check_fits(
        self, dim_names: Sequence[str] | None, event_names: Sequence[str] | None, where: str = "tokenizer"
    ) -> None:
        """Raise DataError unless this tokenizer's dim / event names are the given ones (None: no check)."""
        for kind, mine, theirs in (
            ("dims", self.dim_names, dim_names),
            ("events", self.event_names, event_names),
        ):
            if theirs is not None and tuple(theirs) != mine:
                raise DataError(
                    f"{where}: tokenizer {kind} {mine} do not fit the data's {tuple(theirs)}; "
                    "fit a tokenizer on this kind of data"
                )
