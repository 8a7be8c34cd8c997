"""What the page may send, checked before anything runs: every refusal is a BadRequest with a status and
one readable line, which the app returns as JSON `{"error": ...}` and shows in the page."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from starlette.requests import Request

from trajtok.sampling import DEFAULT_TEMPERATURE, Sampling
from trajtok.seeds import SEED_RANGE, fresh_seed, is_seed

MAX_BODY_BYTES = 4 * 1024 * 1024  # a drawing at MAX_DRAWING_POINTS points is under 1 MB of JSON
MAX_TEMPERATURE = 5.0


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


async def read_json(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """The request's JSON object, read at most `max_bytes` far (a bigger body is refused unread: 413)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BadRequest(f"request body over {max_bytes // (1024 * 1024)} MiB; send less", 413)
    try:
        value = json.loads(bytes(body).decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise BadRequest(f"expected a JSON object, got {type(value).__name__}")
    return value


def _refuse_constant(name: str):
    raise BadRequest(f"{name} is not a number JSON allows; send a finite number")


def text_field(body: dict, key: str, max_chars: int, required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str):
        raise BadRequest(f"`{key}` must be a string")
    if len(value) > max_chars:
        raise BadRequest(f"`{key}` has {len(value)} characters; at most {max_chars} fit")
    return value


def number_field(body: dict, key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"`{key}` must be a finite number between {low:g} and {high:g}, got {value!r}")
    if not low <= value <= high:
        raise BadRequest(f"`{key}` must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def seed_field(body: dict) -> int:
    """The request's seed, or a fresh one (the stream's `start` says which, to write it again)."""
    value = body.get("seed")
    if value is None or value == "":
        return fresh_seed()
    if not is_seed(value):
        raise BadRequest(f"`seed` must be {SEED_RANGE} (or empty for a fresh one), got {value!r}")
    return value


@dataclass(frozen=True)
class WriteRequest:
    text: str
    sampling: Sampling
    style: str  # "" (the model's own hand), a corpus writer's name, or "mine"
    writer: str  # the dataset writer of style "mine"

    @classmethod
    def parse(cls, body: dict, max_chars: int) -> WriteRequest:
        text = text_field(body, "text", max_chars)
        temperature = number_field(body, "temperature", DEFAULT_TEMPERATURE, 0.0, MAX_TEMPERATURE)
        style = text_field(body, "style", 64, required=False)
        writer = text_field(body, "writer", 64, required=False)
        return cls(text, Sampling(temperature=temperature, seed=seed_field(body)), style, writer)
