"""A run directory's metrics.jsonl: one JSON object per line, written by rank 0 only."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class RunLog:
    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled

    def write(self, kind: str, step: int, **figures: Any) -> None:
        if self.enabled:
            with self.path.open("a") as f:
                f.write(json.dumps({"kind": kind, "step": step, **figures}) + "\n")

    def resumed(self, step: int, seconds: float) -> None:
        """Drop the lines of steps after `step` (a killed run's last steps, which the resumed run redoes) and
        any line the kill tore, then note the resume."""
        if not self.enabled:
            return
        if self.path.is_file():
            kept = []
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line torn by the kill
                    continue
                if record.get("step", 0) <= step:
                    kept.append(line)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in kept))
            os.replace(tmp, self.path)
        self.write("resume", step, seconds=seconds)
