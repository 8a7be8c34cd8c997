"""Which hand the Write panel writes in: the model's own, a writer of the synthetic corpus, or the user's.

A style is a prime (trajtok.style): real samples of that hand, with their texts, laid out as one line that
the model continues with the phrase (`Writer.stream(text, sampling, prime=...)`). `style_prime` is the one
place the page's choice becomes a prime.
"""

from __future__ import annotations

from trajtok.data.hershey import STYLES, synthesize
from trajtok.generate import Writer
from trajtok.sample import Sample
from trajtok.strokes import thin_sample
from trajtok.studio.requests import BadRequest
from trajtok.style import MAX_STYLE_SAMPLES, StyleError, from_samples
from trajtok.style import style_prime as line_prime

CORPUS_PRIME_TEXT = "writing"  # what a corpus writer's prime says
MINE = "mine"


def corpus_styles() -> list[str]:
    return [s.name for s in STYLES]


def style_prime(writer: Writer, text: str, style: str, my_samples: list[Sample]) -> Sample | None:
    """The prime for `style` ("" = none, a corpus writer's name, or MINE with the user's saved samples).
    MINE: the newest saved samples (up to MAX_STYLE_SAMPLES) whose texts, with the phrase, fit the lines the
    model was trained on (`Writer.line_chars`, else its `max_text`), and whose steps leave the model at
    least half its positions for the phrase."""
    if not style:
        return None
    if style in corpus_styles():
        return synthesize(CORPUS_PRIME_TEXT, corpus_styles().index(style), seed=0)
    if style != MINE:
        raise BadRequest(f"style {style!r} unknown: use '', {MINE!r} or one of {', '.join(corpus_styles())}")
    if not my_samples:
        raise BadRequest("no saved sample of this writer to write like: save a few labelled drawings first")
    room = writer.line_chars or writer.model.config.max_text
    steps = writer.model.config.max_steps // 2
    chosen, prime = [], None
    for sample in reversed(my_samples):  # newest first
        if len(chosen) == MAX_STYLE_SAMPLES:
            break
        trial = [sample, *chosen]
        try:
            candidate = line_prime(from_samples(trial), writer.text_tokenizer)
        except StyleError as exc:
            raise BadRequest(f"a saved sample cannot be a style: {exc}") from None
        if len(writer.conditioning_text(text, candidate)) <= room and (
            len(thin_sample(candidate, writer.prime_spacing)) <= steps
        ):
            chosen, prime = trial, candidate
    if prime is None:
        raise BadRequest(
            f"no saved sample fits beside this phrase: labels plus the phrase within {room} characters (the "
            f"lines this model learned), drawings within {steps} steps; write a shorter phrase or save a "
            "shorter word"
        )
    return prime
