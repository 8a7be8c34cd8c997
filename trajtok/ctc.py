"""CTC decoding: per-frame label log-probabilities -> label sequences (blank = 0).

A CTC path emits one label or the blank per frame; collapsing it (merge repeats, then drop blanks) gives the
labels it stands for. `greedy_decode` collapses the single likeliest path. `beam_decode` searches the CTC
state lattice: a hypothesis is (labels so far, did the last frame emit the blank), scored by the summed
probability of every path reaching it; each frame extends every hypothesis by the blank and the likeliest
labels, merges hypotheses that reach the same state, and keeps the `width` best. At the end the states of
one label sequence are summed. Width 1 keeps exactly the likeliest label of each frame: greedy decoding.
"""

from __future__ import annotations

import numpy as np

BLANK = 0


def collapse(path: np.ndarray | list[int], blank: int = BLANK) -> list[int]:
    """A frame-level path -> its labels: repeats merged, then blanks removed."""
    out, previous = [], None
    for label in np.asarray(path).reshape(-1).tolist():
        if label != previous and label != blank:
            out.append(label)
        previous = label
    return out


def greedy_decode(log_probs: np.ndarray, blank: int = BLANK) -> list[int]:
    """(T, K) log-probabilities of one sample -> the collapsed argmax path."""
    return collapse(np.asarray(log_probs).argmax(axis=1), blank)


def beam_decode(log_probs: np.ndarray, width: int, blank: int = BLANK) -> list[int]:
    """(T, K) log-probabilities of one sample -> the best label sequence the beam finds (see module doc)."""
    if width < 1:
        raise ValueError(f"beam width must be >= 1, got {width}")
    log_probs = np.asarray(log_probs, dtype=np.float64)
    beams: dict[tuple[tuple[int, ...], bool], float] = {((), True): 0.0}
    for frame in log_probs:
        labels = np.argsort(-frame, kind="stable")[: width + 1].tolist()  # ties: the lower label first
        candidates: dict[tuple[tuple[int, ...], bool], float] = {}
        for (prefix, after_blank), score in beams.items():
            for label in labels:
                if label == blank:
                    state = (prefix, True)
                elif prefix and label == prefix[-1] and not after_blank:
                    state = (prefix, False)  # the same label again without a blank: one emission
                else:
                    state = (prefix + (label,), False)
                total = score + frame[label]
                seen = candidates.get(state)
                candidates[state] = total if seen is None else np.logaddexp(seen, total)
        ranked = sorted(candidates.items(), key=lambda item: -item[1])  # stable: ties keep label order
        beams = dict(ranked[:width])
    merged: dict[tuple[int, ...], float] = {}
    for (prefix, _), score in beams.items():
        seen = merged.get(prefix)
        merged[prefix] = score if seen is None else np.logaddexp(seen, score)
    best = max(merged.items(), key=lambda item: item[1])[0]  # first of equals: the beam's best state
    return list(best)


def decode_batch(
    log_probs: np.ndarray, frames: list[int], beam: int = 1, blank: int = BLANK
) -> list[list[int]]:
    """(B, F, K) padded log-probabilities and each row's frame count -> each row's labels; `beam` 1 =
    greedy, > 1 = beam search of that width."""
    return [
        greedy_decode(lp[:n], blank) if beam == 1 else beam_decode(lp[:n], beam, blank)
        for lp, n in zip(log_probs, frames, strict=True)
    ]
