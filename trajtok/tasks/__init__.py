"""What `trajtok train TASK` starts from: one YAML file per task, holding only what differs from the
TrainConfig defaults (trajtok.train_config). Package data, so an installed trajtok needs no repository file;
listing them imports nothing heavy (the CLI builds its parser from it)."""

from __future__ import annotations

from pathlib import Path

TASKS_DIR = Path(__file__).parent


def task_names() -> list[str]:
    return sorted(path.stem for path in TASKS_DIR.glob("*.yaml"))


def task_file(name: str) -> Path:
    path = TASKS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"no training task {name!r}; the tasks are {', '.join(task_names())}")
    return path
