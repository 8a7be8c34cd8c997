"""The user's dataset: one cursive-transformer JSON file per writer, `DIR/<writer>.json`, the format
`load_source`, `trajtok data show` and `trajtok train handwriting data.source=...` read as it is.

Every save writes the whole list to a temporary file in the same directory, fsyncs it and renames it over
the old file (os.replace is atomic), so a crash at any moment leaves either the old file or the new one, never
a torn one; a file that is not valid CT JSON is never overwritten. Writer names are plain words, so no name
from the page can point outside DIR.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
import uuid
from pathlib import Path

from trajtok.data import cursive_json
from trajtok.errors import DataError
from trajtok.sample import Sample
from trajtok.studio.requests import BadRequest

WRITER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
SAMPLE_ID = re.compile(r"[0-9a-f]{32}")


class Dataset:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one save at a time: read, append, replace

    def path(self, writer: str) -> Path:
        if not isinstance(writer, str) or not WRITER_NAME.fullmatch(writer):
            raise BadRequest(
                f"writer name {writer!r} refused: use 1-40 letters, digits, '-' or '_', starting with a "
                "letter or digit"
            )
        return self.root / f"{writer}.json"

    def writers(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.json") if WRITER_NAME.fullmatch(p.stem))

    def records(self, writer: str) -> list[dict]:
        path = self.path(writer)
        if not path.exists():
            return []
        try:
            return cursive_json.read_records(path)
        except DataError as exc:
            raise BadRequest(f"{exc}; fix or move that file (nothing was changed)", 409) from None

    def add(self, writer: str, record: dict) -> dict:
        """Append `record` (a CT record) to the writer's file; returns it with its id and time."""
        record = {
            **record,
            "id": uuid.uuid4().hex,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        record["metadata"] = {**record["metadata"], "author": writer}
        with self._lock:
            self._replace(writer, [*self.records(writer), record])
        return record

    def delete(self, writer: str, sample_id: str) -> None:
        if not isinstance(sample_id, str) or not SAMPLE_ID.fullmatch(sample_id):
            raise BadRequest(f"sample id {sample_id!r} is not one this dataset gives")
        with self._lock:
            records = self.records(writer)
            kept = [r for r in records if r.get("id") != sample_id]
            if len(kept) == len(records):
                raise BadRequest(f"writer {writer!r} has no sample {sample_id}", 404)
            self._replace(writer, kept)

    def samples(self, writer: str) -> list[Sample]:
        """The writer's samples in handwriting units, in saving order (the CT loader, every record)."""
        path = self.path(writer)
        if not path.exists():
            return []
        try:
            return cursive_json.load(path, split="all").samples
        except DataError as exc:
            raise BadRequest(f"{exc}; fix or move that file", 409) from None

    def _replace(self, writer: str, records: list[dict]) -> None:
        path = self.path(writer)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{writer}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(records, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        directory = os.open(self.root, os.O_RDONLY)  # the rename itself survives a power cut
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
