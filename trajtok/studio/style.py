"""Which hand the Write panel writes in: the model's own, a writer of the synthetic corpus, or the user's.

Today a style is a prime: a real sample of that hand, with its text, which the model continues
(`Writer.stream(text, sampling, prime=...)`). `style_prime` is the one place that choice is made.
"""

from __future__ import annotations

from trajtok.data.hershey import STYLES, synthesize
from trajtok.generate import Writer
from trajtok.sample import Sample
from trajtok.strokes import thin_sample
from trajtok.studio.requests import BadRequest

CORPUS_PRIME_TEXT = "writing"  # what a corpus writer's prime says
MINE = "mine"


def corpus_styles() -> list[str]:
    return [s.name for s in STYLES]


def style_prime(writer: Writer, text: str, style: str, my_samples: list[Sample]) -> Sample | None:
    """The prime for `style` ("" = none, a corpus writer's name, or MINE with the user's saved samples):
    for MINE the latest saved sample whose text fits beside `text` in what the model reads, and whose steps
    leave the model at least half its positions for the phrase."""
    if not style:
        return None
    if style in corpus_styles():
        return synthesize(CORPUS_PRIME_TEXT, corpus_styles().index(style), seed=0)
    if style != MINE:
        raise BadRequest(f"style {style!r} unknown: use '', {MINE!r} or one of {', '.join(corpus_styles())}")
    room, steps = writer.model.config.max_text, writer.model.config.max_steps
    fitting = [
        s
        for s in my_samples
        if s.text
        and len(writer.conditioning_text(text, s)) <= room
        and len(thin_sample(s, writer.prime_spacing)) <= steps // 2
    ]
    if not fitting:
        raise BadRequest(
            "no saved sample of this writer to write like: save a few labelled drawings first"
            if not my_samples
            else f"no saved sample fits beside this phrase: labels plus the phrase within {room} characters, "
            f"drawings within {steps // 2} steps; write a shorter phrase or save a shorter word"
        )
    return fitting[-1]
