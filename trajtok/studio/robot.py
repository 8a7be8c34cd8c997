"""Send to the robot: a written phrase executed by the simulated Panda on the PyBullet whiteboard, in a
background thread; the page polls the job's progress, then shows the board picture and the tracking metrics.
One job at a time: the simulation uses a whole core.

The simulation itself comes from outside (the CLI passes trajtok_sim.phrase_on_board.write_phrase): the
library never imports the simulator, and a studio without it says so.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from trajtok.errors import TrajtokError
from trajtok.studio.requests import BadRequest

MAX_JOBS_KEPT = 8  # finished jobs whose pictures the page may still fetch
# (points (T, 3), text, progress(done_s, total_s)) -> (metrics, board image (H, W) uint8)
Simulate = Callable[[np.ndarray, str, Callable[[float, float], None]], tuple[dict, np.ndarray]]


class Cancelled(Exception):
    """The server is shutting down: the simulation stops at its next progress report."""


@dataclass
class RobotJob:
    text: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "running"  # running, done, failed
    progress: float = 0.0  # simulated seconds done / total
    metrics: dict = field(default_factory=dict)
    error: str = ""
    board_png: bytes = b""

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(self.progress, 4),
            "metrics": self.metrics,
            "error": self.error,
            "board": f"/api/robot/{self.id}/board.png" if self.board_png else "",
        }


class RobotJobs:
    def __init__(self, simulate: Simulate | None):
        self.simulate = simulate
        self.jobs: dict[str, RobotJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, points: np.ndarray, text: str) -> RobotJob:
        if self.simulate is None:
            raise BadRequest("no robot here: the whiteboard simulator is not installed (the `sim` extra)")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise BadRequest("the robot is still writing the last phrase; wait for it", 409)
            job = RobotJob(text)
            self.jobs[job.id] = job
            for old in list(self.jobs)[:-MAX_JOBS_KEPT]:
                del self.jobs[old]
            self._thread = threading.Thread(
                target=self._run, args=(job, points), name="trajtok-studio-robot", daemon=True
            )
            self._thread.start()
        return job

    def get(self, job_id: str) -> RobotJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise BadRequest(f"no robot job {job_id!r} (finished jobs are kept a while, not for ever)", 404)
        return job

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, job: RobotJob, points: np.ndarray) -> None:
        try:
            job.metrics, job.board_png = self._simulate(job, points)
            job.progress, job.state = 1.0, "done"
        except Cancelled:
            job.state, job.error = "failed", "stopped: the server is shutting down"
        except (TrajtokError, ValueError) as exc:  # e.g. the phrase does not fit the board
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: the page hears of it, the traceback goes to the server's log
            job.state, job.error = "failed", f"the simulation failed ({exc!r}); see the server's log"
            raise

    def _simulate(self, job: RobotJob, points: np.ndarray) -> tuple[dict, bytes]:
        from matplotlib.image import imsave

        def progress(done_s: float, total_s: float) -> None:
            if self._stop.is_set():
                raise Cancelled
            job.progress = done_s / max(total_s, 1e-9)

        metrics, board_image = self.simulate(points, job.text, progress)
        png = io.BytesIO()
        imsave(png, board_image, cmap="gray", vmin=0, vmax=255, format="png")
        return {k: _plain(v) for k, v in metrics.items()}, png.getvalue()


def _plain(value):
    """A metric as JSON has it (numpy scalars to Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value
