"""Chunk schemes (dct = FAST, bspline = BEAST): round trips, events, persistence, decodability, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_tokenizer import DIMS, EVENTS, handwriting_like

from trajtok.chunk_tokenizer import CHUNK_SCHEMES, ChunkTokenizer
from trajtok.data.gripper import load_gripper_demos
from trajtok.errors import DataError
from trajtok.round_trip import measure_round_trip
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.tokenizer_choice import load_tokenizer, make_tokenizer

GRIPPER = Path(__file__).parent / "fixtures" / "gripper" / "demos"


@pytest.fixture(scope="module")
def data():
    return handwriting_like(150, seed=3)


@pytest.fixture(scope="module", params=CHUNK_SCHEMES)
def fitted(request, data):
    return ChunkTokenizer(DIMS, EVENTS, scheme=request.param, chunk=8, bpe_vocab=512).fit(*data)


def test_round_trip_keeps_length_events_and_end_point(fitted, data):
    deltas, events = data
    tokens = fitted.encode_batch(deltas, events, add_eos=True)
    decoded = fitted.decode_batch(tokens)
    widest = np.ptp(np.concatenate(deltas), axis=0).max()
    for (d, e), true_d, true_e, t in zip(decoded, deltas, events, tokens, strict=True):
        assert t.shape[1] == 1 and t[-1, 0] == fitted.eos_id
        assert d.shape == true_d.shape and d.dtype == np.float32
        np.testing.assert_array_equal(e, true_e)
        # error feedback: the end point is off by about one chunk's error, far less than the data's spread
        assert np.linalg.norm(d.sum(0) - true_d.sum(0)) < 0.1 * widest
    plain = fitted.decode_batch(fitted.encode_batch(deltas, events, error_feedback=False))
    drift = [np.linalg.norm(d.sum(0) - t.sum(0)) for (d, _), t in zip(decoded, deltas, strict=True)]
    plain_drift = [np.linalg.norm(d.sum(0) - t.sum(0)) for (d, _), t in zip(plain, deltas, strict=True)]
    assert np.mean(drift) < np.mean(plain_drift)


def test_chunks_compress_smooth_motion_well_below_per_step_bins():
    t = np.linspace(0, 6 * np.pi, 400)
    smooth = [np.stack([np.sin(t + p), np.cos(2 * t + p)], 1).astype(np.float32) * 0.05 for p in range(20)]
    for scheme in CHUNK_SCHEMES:
        tokenizer = ChunkTokenizer(DIMS, (), scheme=scheme, chunk=20, n_control=6).fit(smooth)
        tokens = tokenizer.encode(smooth[0], None)
        deltas, _ = tokenizer.decode(tokens)
        assert len(tokens) < 0.4 * 2 * len(smooth[0]), scheme  # per-step bins need 2 tokens per step
        assert np.sqrt(np.mean((deltas - smooth[0]) ** 2)) < 0.05 * np.abs(smooth[0]).max(), scheme


def test_dct_is_low_frequencies_first_then_bpe(data):
    tokenizer = ChunkTokenizer(DIMS, EVENTS, scheme="dct", chunk=8, bpe_vocab=512).fit(*data)
    assert len(set(tokenizer._fitted["piece_len"])) > 2  # BPE merged runs of coefficients
    q = tokenizer._quantized(tokenizer._coefficients(np.ones((1, 8, 2)) * 0.01))
    assert np.count_nonzero(q[0, 2:]) == 0  # a constant move is its DC coefficients only


def test_gripper_is_toggle_coded_and_pen_lifts_are_marked_where_on(data):
    demos = load_gripper_demos(GRIPPER)
    gripper = ChunkTokenizer(demos.dim_names, demos.event_names, scheme="dct").fit(
        demos.deltas(), demos.events()
    )
    pen = ChunkTokenizer(DIMS, EVENTS, scheme="dct", bpe_vocab=512).fit(*data)
    assert gripper._fitted["toggle"].tolist() == [True] and pen._fitted["toggle"].tolist() == [False]
    for sample in demos:
        tokens = gripper.encode(sample.deltas, sample.events)
        marks = ((tokens >= gripper.mark_base) & (tokens < gripper.end_base)).sum()
        assert marks == np.count_nonzero(np.diff(sample.events[:, 0].astype(int), prepend=0))
        np.testing.assert_array_equal(gripper.decode(tokens)[1], sample.events)


def test_save_load_round_trip_is_exact_and_one_word_switches_scheme(tmp_path, fitted, data):
    path = fitted.save(tmp_path / "tok.json")
    assert json.loads(path.read_text())["version"] == 1
    loaded = load_tokenizer(path, DIMS, EVENTS)
    tokens = fitted.encode_batch(*data)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.encode_batch(*data), tokens, strict=True))
    for (a, e), (b, f) in zip(loaded.decode_batch(tokens), fitted.decode_batch(tokens), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(e, f)
    assert isinstance(make_tokenizer(DIMS, EVENTS, "adaptive"), TrajectoryTokenizer)
    assert make_tokenizer(DIMS, EVENTS, fitted.scheme).scheme == fitted.scheme


def test_perturbed_sequences_decode_inside_the_range_or_raise_naming_the_chunk(fitted, data):
    rng = np.random.default_rng(0)
    tokens = fitted.encode_batch(*data)
    lo, hi = fitted.value_range[:, 0], fitted.value_range[:, 1]
    outcomes = {"ok": 0, "error": 0}
    for t in tokens:
        for share in (0.01, 0.05, 0.2):
            bad = t.copy()
            n = max(1, int(share * len(t)))
            at = rng.choice(len(t), n, replace=False)
            bad[at, 0] = rng.integers(0, fitted.vocab_size, n)
            try:
                deltas, events = fitted.decode(bad)
            except ValueError as exc:
                assert "chunk" in str(exc)
                outcomes["error"] += 1
                continue
            outcomes["ok"] += 1
            assert np.all((deltas >= lo) & (deltas <= hi))
            assert len(events) == len(deltas)
    assert outcomes["ok"] and outcomes["error"]  # both happen; neither is silent garbage


def test_the_grammar_mask_keeps_random_streams_decodable(fitted):
    rng = np.random.default_rng(1)
    grammar = fitted.grammar(4)
    streams = [[] for _ in range(4)]
    for _ in range(300):
        allowed = grammar.mask()
        assert allowed.any(axis=1).all()
        ids = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
        grammar.advance(ids)
        for stream, i in zip(streams, ids, strict=True):
            stream.append(int(i))
    for stream in streams:
        stream = stream[: stream.index(fitted.eos_id) + 1] if fitted.eos_id in stream else stream
        closed = max((k for k, i in enumerate(stream) if i >= fitted.end_base), default=-1)
        deltas, events = fitted.decode(np.array(stream[: closed + 1]), repair=True)
        assert len(deltas) == len(events)
        if fitted.scheme == "bspline":  # the spline stays in its control points' hull: every chunk decodes
            fitted.decode(np.array(stream[: closed + 1]))


def test_short_trajectories_are_padded_by_the_stated_rule_or_refused():
    rng = np.random.default_rng(2)
    fit = [rng.normal(0, 0.1, (40, 2))]
    short = rng.normal(0, 0.1, (3, 2))
    for scheme in CHUNK_SCHEMES:
        tokenizer = ChunkTokenizer(DIMS, (), scheme=scheme, chunk=10, n_control=4).fit(fit)
        assert tokenizer.decode(tokenizer.encode(short, None))[0].shape == (3, 2)
        strict = ChunkTokenizer(DIMS, (), scheme=scheme, chunk=10, n_control=4, pad_short=False).fit(fit)
        with pytest.raises(ValueError, match=r"trajectory 1: 3 steps is shorter than one chunk \(10 steps\)"):
            strict.encode_batch([fit[0], short], None)


def test_bad_input_gets_clear_errors(tmp_path, data):
    deltas, events = data
    tokenizer = ChunkTokenizer(DIMS, EVENTS, scheme="dct", chunk=8, bpe_vocab=512).fit(deltas, events)
    nan = deltas[2].copy()
    nan[19, 1] = np.nan
    with pytest.raises(ValueError, match=r"trajectory 1: NaN in deltas at step 19, dim 'dy' \(chunk 2\)"):
        tokenizer.encode_batch([deltas[0], nan], [events[0], events[2]])
    with pytest.raises(ValueError, match="bpe_vocab=16 has no room"):
        ChunkTokenizer(DIMS, EVENTS, scheme="dct", bpe_vocab=16).fit(deltas)
    with pytest.raises(ValueError, match="do not fit the token budget max_vocab=256"):
        ChunkTokenizer(DIMS, EVENTS, scheme="dct", bpe_vocab=1024, max_vocab=256)
    path = tokenizer.save(tmp_path / "dct.json")
    with pytest.raises(DataError, match=rf"{path}: holds a 'dct' chunk tokenizer, not per-step bins"):
        TrajectoryTokenizer.load(path)
    bins = TrajectoryTokenizer(DIMS, EVENTS).fit(deltas).save(tmp_path / "bins.json")
    with pytest.raises(DataError, match=rf"{bins}: not a chunk tokenizer .* holds a adaptive tokenizer"):
        ChunkTokenizer.load(bins)
    tokens = tokenizer.encode(deltas[0], events[0])
    with pytest.raises(ValueError, match="ends inside a chunk"):
        tokenizer.decode(tokens[:-1])
    whole_chunks_before = (-(-len(deltas[0]) // 8) - 1) * 8  # repair keeps the chunks before the open one
    assert len(tokenizer.decode(tokens[:-1], repair=True)[0]) == whole_chunks_before
    with pytest.raises(ValueError, match="not fitted"):
        ChunkTokenizer(DIMS, EVENTS).encode(deltas[0], events[0])


def test_measuring_the_round_trip_reports_its_four_passes_and_leaves_the_counters(fitted, data):
    deltas, events = data
    calls, clipped = [], fitted.clipped.copy()
    report = measure_round_trip(fitted, deltas, events, lambda done, total: calls.append((done, total)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]  # a bar from the start, a tick a pass
    assert report.n_trajectories == len(deltas) and len(report.decoded) == len(deltas)
    np.testing.assert_array_equal(fitted.clipped, clipped)
