"""The studio's ASGI app (Starlette): one page, its static assets, and the JSON / event-stream API it calls.

    GET  /                          the page (trajtok/studio/static/)
    GET  /api/info                  corpus styles, dataset writers, limits, the default temperature
    POST /api/write                 {text, temperature, seed, style, writer} -> text/event-stream of ink
    GET  /api/results/{id}.{fmt}    a written phrase as png / svg / npz
    GET  /api/results/{id}/attention  its cross-attention (steps x characters)
    POST /api/recognize             a drawing -> what the recognizer reads
    GET  /api/dataset               the saved samples, per writer, each with a thumbnail of its ink
    POST /api/dataset/{writer}      {label, drawing} -> saved into DIR/<writer>.json
    DELETE /api/dataset/{writer}/{id}
    POST /api/robot                 {id: a written phrase} -> a whiteboard job
    GET  /api/robot/{job}[/board.png]  its progress, metrics, board picture
    GET  /api/health                generations running and threads alive

Every refusal is JSON `{"error": "..."}` with a 4xx status; the server goes on serving.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trajtok.generate import Writer
from trajtok.recognize import Recognizer
from trajtok.sample import Sample
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.studio.dataset import Dataset
from trajtok.studio.drawing import MAX_DRAWING_POINTS, Drawing, record_sample
from trajtok.studio.requests import BadRequest, WriteRequest, read_json, text_field
from trajtok.studio.results import MEDIA_TYPES, Results, WrittenPhrase
from trajtok.studio.robot import RobotJobs
from trajtok.studio.session import FirstStepsFirst, InkSmoother, WriteSession
from trajtok.studio.style import MINE, corpus_styles, style_prime
from trajtok.studio.thumbnail import thumbnail
from trajtok.word_layout import writes_word_by_word

STATIC_DIR = Path(__file__).parent / "static"
MAX_WRITING = 16  # phrases generated at once; more are refused (503) rather than slowing everyone down
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:",
    "Cache-Control": "no-store",
}


@dataclass
class Studio:
    """What the routes share: the models, the dataset, written phrases, robot jobs, running generations."""

    writer: Writer
    recognizer: Recognizer
    dataset: Dataset
    robot: RobotJobs
    results: Results = field(default_factory=Results)
    sessions: set[WriteSession] = field(default_factory=set)
    stopped_early: int = 0  # generations stopped because their client went away
    turns: FirstStepsFirst = field(default_factory=FirstStepsFirst)

    @property
    def max_text(self) -> int:
        return self.writer.model.config.max_text


def create_app(studio: Studio, loopback_only: bool = True) -> Starlette:
    """The app; `loopback_only` also refuses requests whose Host is not this machine (DNS rebinding)."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        for session in list(studio.sessions):
            session.stop.set()
        studio.robot.close()

    routes = [
        Route("/", _page),
        Route("/api/info", partial(_info, studio)),
        Route("/api/health", partial(_health, studio)),
        Route("/api/write", partial(_write, studio), methods=["POST"]),
        Route("/api/results/{id:str}.{fmt:str}", partial(_download, studio)),
        Route("/api/results/{id:str}/attention", partial(_attention, studio)),
        Route("/api/recognize", partial(_recognize, studio), methods=["POST"]),
        Route("/api/dataset", partial(_dataset, studio)),
        Route("/api/dataset/{writer:str}", partial(_save, studio), methods=["POST"]),
        Route("/api/dataset/{writer:str}/{id:str}", partial(_delete, studio), methods=["DELETE"]),
        Route("/api/robot", partial(_robot_start, studio), methods=["POST"]),
        Route("/api/robot/{job:str}", partial(_robot_job, studio)),
        Route("/api/robot/{job:str}/board.png", partial(_robot_board, studio)),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_HOSTS)] if loopback_only else []
    handlers = {BadRequest: _refused, HTTPException: _http_error, Exception: _crashed}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)


# -- errors ----------------------------------------------------------------------------------------------
async def _refused(request: Request, exc: BadRequest) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": f"{exc.detail}: {request.method} {request.url.path}"}, status_code=exc.status_code
    )


async def _crashed(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"internal error ({exc.__class__.__name__}); see the server's log"}, 500)


async def _page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


# -- write -----------------------------------------------------------------------------------------------
async def _info(studio: Studio, request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "styles": corpus_styles(),
            "writers": await run_in_threadpool(studio.dataset.writers),
            "max_text": studio.max_text,
            "max_drawing_points": MAX_DRAWING_POINTS,
            "temperature": DEFAULT_TEMPERATURE,
            "data_dir": str(studio.dataset.root),
        }
    )


async def _health(studio: Studio, request: Request) -> JSONResponse:
    names = [t.name for t in threading.enumerate()]
    return JSONResponse(
        {
            "ok": True,
            "writing": len(studio.sessions),
            "threads": len(names),
            "write_threads": names.count("trajtok-studio-write"),
            "stopped_early": studio.stopped_early,
        }
    )


async def _write(studio: Studio, request: Request) -> StreamingResponse:
    req = WriteRequest.parse(await read_json(request), studio.max_text)
    if problem := studio.writer.text_tokenizer.alphabet_problem(req.text):
        raise BadRequest(problem)
    mine = await run_in_threadpool(studio.dataset.samples, req.writer) if req.style == MINE else []
    prime = style_prime(studio.writer, req.text, req.style, mine)
    lines = studio.writer.lines(req.text, prime)  # a phrase longer than the model's lines: several
    read = max(len(studio.writer.conditioning_text(line, prime)) for line in lines)
    if read > studio.max_text:
        raise BadRequest(
            f"the model reads at most {studio.max_text} characters; with this style it would read {read}"
        )
    if len(studio.sessions) >= MAX_WRITING:
        raise BadRequest(f"{MAX_WRITING} phrases are being written already; try again in a moment", 503)
    word_by_word = writes_word_by_word("auto", studio.writer.stitched_words)
    session = WriteSession(studio.writer, req.text, lines, req.sampling, prime, studio.turns, word_by_word)
    studio.sessions.add(session)
    return StreamingResponse(
        _ink_events(studio, session), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


async def _ink_events(studio: Studio, session: WriteSession):
    """Server-sent events: `start` (with the seed), then `ink` batches of smoothed stroke updates, then
    `end` (or `error`)."""
    started = time.perf_counter()
    budget = sum(session.budgets)
    smoother, position = InkSmoother(), np.zeros(2)
    deltas, events, n_steps = [], [], 0
    finished = False
    try:
        session.start()
        layout = "words" if session.word_by_word else "line"
        seed = session.sampling.seed
        yield _event(
            "start",
            {"text": session.text, "lines": session.lines, "layout": layout, "budget": budget, "seed": seed},
        )
        async for steps in session.batches():
            step_deltas = np.array([d for d, _ in steps], np.float64).reshape(len(steps), -1)
            step_events = np.array([e for _, e in steps], bool).reshape(len(steps), -1)
            points = position + np.cumsum(step_deltas, axis=0)
            position = points[-1]
            deltas.append(step_deltas)
            events.append(step_events)
            updates = smoother.add(points, step_events[:, 0])
            n_steps += len(steps)
            yield _event("ink", {"steps": n_steps, "updates": [u.as_json() for u in updates]})
        finished = True
        if session.error:
            yield _event("error", {"error": session.error})
            return
        sample = Sample(
            np.concatenate(deltas or [np.zeros((0, 2))]).astype(np.float32),
            np.concatenate(events or [np.zeros((0, 1), bool)]),
            session.text,
        )
        steps_of = session.stacked.steps_of
        phrase = WrittenPhrase(sample, session.prime, session.lines, steps_of, words=session.words)
        studio.results.add(phrase)
        seconds = time.perf_counter() - started
        yield _event(
            "end", {"id": phrase.id, "steps": len(sample), "ended": session.ended, "seconds": seconds}
        )
    finally:  # also when the client went away: the worker stops at its next step
        session.stop.set()
        studio.sessions.discard(session)
        studio.stopped_early += not finished


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _download(studio: Studio, request: Request) -> Response:
    phrase = studio.results.get(request.path_params["id"])
    fmt = request.path_params["fmt"]
    content = await run_in_threadpool(phrase.download, fmt)
    filename = f"trajtok-{_slug(phrase.sample.text)}.{fmt}"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)[:40] or "phrase"


async def _attention(studio: Studio, request: Request) -> JSONResponse:
    phrase = studio.results.get(request.path_params["id"])
    return JSONResponse(await run_in_threadpool(phrase.attention, studio.writer))


# -- draw, read, save ------------------------------------------------------------------------------------
async def _recognize(studio: Studio, request: Request) -> JSONResponse:
    drawing = Drawing.parse(await read_json(request))
    started = time.perf_counter()
    reading = await run_in_threadpool(lambda: studio.recognizer.recognize([drawing.sample()])[0])
    ms = (time.perf_counter() - started) * 1000
    return JSONResponse(
        {"text": reading.text, "confidence": round(reading.confidence, 4), "server_ms": round(ms, 2)}
    )


async def _dataset(studio: Studio, request: Request) -> JSONResponse:
    def listing():
        return [
            {
                "name": name,
                "samples": [
                    {
                        "id": r.get("id", ""),
                        "label": r.get("metadata", {}).get("asciiSequence", ""),
                        "points": len(r.get("points", [])),
                        "saved_at": r.get("saved_at", ""),
                        "thumbnail": thumbnail(r),
                    }
                    for r in studio.dataset.records(name)
                ],
            }
            for name in studio.dataset.writers()
        ]

    return JSONResponse({"dir": str(studio.dataset.root), "writers": await run_in_threadpool(listing)})


async def _save(studio: Studio, request: Request) -> JSONResponse:
    writer = request.path_params["writer"]
    studio.dataset.path(writer)  # refuse a bad name before reading the body
    body = await read_json(request)
    label = text_field(body, "label", studio.max_text).strip()
    if not label:
        raise BadRequest("the label is empty: type what the drawing says (or accept what was read)")
    drawing = body.get("drawing")
    if not isinstance(drawing, dict):
        raise BadRequest("`drawing` must be an object {width, height, strokes}")
    record = Drawing.parse(drawing).record(label, writer)

    def save() -> dict:
        record_sample(record)  # what the loader will read: refuse a drawing it would drop
        return studio.dataset.add(writer, record)

    saved = await run_in_threadpool(save)
    path = studio.dataset.path(writer)
    return JSONResponse(
        {"id": saved["id"], "writer": writer, "label": label, "file": str(path)}, status_code=201
    )


async def _delete(studio: Studio, request: Request) -> JSONResponse:
    writer, sample_id = request.path_params["writer"], request.path_params["id"]
    await run_in_threadpool(studio.dataset.delete, writer, sample_id)
    return JSONResponse({"deleted": sample_id, "writer": writer})


# -- robot -----------------------------------------------------------------------------------------------
async def _robot_start(studio: Studio, request: Request) -> JSONResponse:
    body = await read_json(request)
    phrase = studio.results.get(text_field(body, "id", 64))
    if len(phrase.sample) < 2:
        raise BadRequest("the phrase has no ink to write; write it again")
    job = studio.robot.start(phrase.board_points().astype(np.float64), phrase.sample.text)
    return JSONResponse(job.as_json(), status_code=202)


async def _robot_job(studio: Studio, request: Request) -> JSONResponse:
    return JSONResponse(studio.robot.get(request.path_params["job"]).as_json())


async def _robot_board(studio: Studio, request: Request) -> Response:
    job = studio.robot.get(request.path_params["job"])
    if not job.board_png:
        raise BadRequest("the board picture is not ready yet", 404)
    return Response(job.board_png, media_type="image/png")
