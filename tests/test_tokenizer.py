"""TrajectoryTokenizer and its bin schemes: round trips, drift, layouts, EOS, persistence, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trajtok.binning import ADAPTIVE_MIN_SHARE, SCHEMES, fit_bins
from trajtok.errors import DataError
from trajtok.tokenizer import LAYOUTS, TrajectoryTokenizer, measure

DIMS, EVENTS = ("dx", "dy"), ("pen_lift",)
BIGBANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bigbank_3500.json.zip"


def handwriting_like(n_trajectories: int, seed: int = 0, dims: int = 2) -> tuple[list, list]:
    """Ragged trajectories: many small moves, a few large pen-up jumps, pen lifts at stroke ends."""
    rng = np.random.default_rng(seed)
    deltas, events = [], []
    for _ in range(n_trajectories):
        steps = int(rng.integers(20, 200))
        d = rng.laplace(0.0, 0.04, (steps, dims))
        jumps = rng.random(steps) < 0.03
        d[jumps] = rng.normal(0.0, 1.5, (int(jumps.sum()), dims))
        lifts = np.zeros((steps, 1), dtype=bool)
        lifts[np.flatnonzero(jumps) - 1, 0] = True
        lifts[-1, 0] = True
        deltas.append(d.astype(np.float32))
        events.append(lifts)
    return deltas, events


@pytest.fixture(scope="module")
def data():
    return handwriting_like(120)


@pytest.fixture(scope="module")
def fitted(data):
    return TrajectoryTokenizer(DIMS, EVENTS).fit(data[0])


def assert_inside_bins(tokenizer: TrajectoryTokenizer, tokens: np.ndarray, decoded: np.ndarray) -> None:
    steps = tokens.reshape(-1, tokenizer.n_channels) - np.array(tokenizer.channel_offsets) * (
        tokenizer.layout == "flat"
    )
    for j, bins in enumerate(tokenizer.bins):
        ids = steps[: len(decoded), j]
        assert np.all(bins.edges[ids] <= decoded[:, j]), tokenizer.dim_names[j]
        assert np.all(decoded[:, j] <= bins.edges[ids + 1]), tokenizer.dim_names[j]


# ---- round trips -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("feedback", [True, False])
def test_every_decoded_delta_lies_inside_its_bin_and_events_survive(data, scheme, layout, feedback):
    deltas, events = data
    tokenizer = TrajectoryTokenizer(DIMS, EVENTS, scheme=scheme, layout=layout, error_feedback=feedback)
    tokenizer.fit(deltas[:80])
    for d, e in zip(deltas[80:], events[80:], strict=True):  # held out: some values clip, some bins unseen
        tokens = tokenizer.encode(d, e)
        assert tokens.dtype == np.int64
        decoded, decoded_events = tokenizer.decode(tokens)
        assert decoded.shape == d.shape and decoded.dtype == np.float32
        assert np.array_equal(decoded_events, e)
        assert_inside_bins(tokenizer, tokens, decoded)


def test_decode_step_is_decode_of_one_step(data, fitted):
    tokens = fitted.encode(data[0][100], data[1][100])
    deltas, events = fitted.decode(tokens)
    for t in range(len(deltas)):
        step_deltas, step_events = fitted.decode_step(tokens[t].tolist())
        np.testing.assert_array_equal(step_deltas, deltas[t])
        np.testing.assert_array_equal(step_events, events[t])
    for bad in ([0, 0], [0, fitted.n_bins, 0], fitted.eos_ids):
        with pytest.raises(ValueError, match="expected 3 ids"):
            fitted.decode_step(bad)


def real_handwriting(spec: str, n: int):
    from trajtok.data import load_source

    return load_source(spec, split="train", n=n, seed=0)


@pytest.mark.parametrize("spec", ["hershey", "bigbank"])
def test_real_handwriting_round_trip_and_error_feedback_drift(spec):
    if spec == "bigbank" and not BIGBANK.is_file():
        pytest.skip(f"{BIGBANK} is absent")
    samples = real_handwriting(spec, 120)
    fit_part, held_out = samples.samples[:90], samples.samples[90:]
    tokenizer = TrajectoryTokenizer(samples.dim_names, samples.event_names).fit([s.deltas for s in fit_part])
    tokens = tokenizer.encode_batch([s.deltas for s in held_out], [s.events for s in held_out], add_eos=True)
    for sample, t, (decoded, events) in zip(held_out, tokens, tokenizer.decode_batch(tokens), strict=True):
        assert np.array_equal(events, sample.events)
        assert_inside_bins(tokenizer, t, decoded)
    report = measure(tokenizer, [s.deltas for s in held_out])
    assert report.drift_feedback < 0.25 * report.drift_plain
    uniform = TrajectoryTokenizer(samples.dim_names, samples.event_names, scheme="uniform")
    uniform.fit([s.deltas for s in fit_part])
    assert report.rmse < 0.7 * measure(uniform, [s.deltas for s in held_out]).rmse


def test_error_feedback_keeps_the_running_position_within_one_bin(data):
    deltas, _ = data
    tokenizer = TrajectoryTokenizer(DIMS, EVENTS).fit(deltas + [np.full((1, 2), 1.0), np.full((1, 2), -1.0)])
    rng = np.random.default_rng(1)
    walk = rng.laplace(0.0, 0.04, (3000, 2)).astype(np.float32)  # long: plain errors pile up
    for feedback in (True, False):
        tokenizer.clipped[:] = 0
        tokens = tokenizer.encode(walk, np.zeros((3000, 1), bool), error_feedback=feedback)
        decoded, _ = tokenizer.decode(tokens)
        running_error = np.abs(np.cumsum(decoded, axis=0, dtype=np.float64) - np.cumsum(walk, axis=0))
        width = np.stack([np.diff(b.edges)[tokens[:, j]] for j, b in enumerate(tokenizer.bins)], axis=1)
        within_bin = running_error <= width  # off by at most the width of the bin just emitted
        if feedback:
            assert tokenizer.clipped.sum() == 0
            assert within_bin.all()
        else:
            assert not within_bin.all()  # the bound is not trivially true


def test_batches_ragged_lists_and_arrays_encode_like_single_trajectories(fitted, data):
    deltas, events = data
    for feedback in (True, False):
        batch = fitted.encode_batch(deltas[:7], events[:7], error_feedback=feedback)
        singles = [
            fitted.encode(d, e, error_feedback=feedback) for d, e in zip(deltas[:7], events[:7], strict=True)
        ]
        assert all(np.array_equal(a, b) for a, b in zip(batch, singles, strict=True))
    block = np.stack([d[:20] for d in deltas[:5]])  # (B, T, D)
    block_events = np.stack([e[:20] for e in events[:5]])
    assert all(
        np.array_equal(a, fitted.encode(d, e))
        for a, d, e in zip(fitted.encode_batch(block, block_events), block, block_events, strict=True)
    )
    again = TrajectoryTokenizer(DIMS, EVENTS).fit(block)
    assert again.fit_summary == {"n_trajectories": 5, "n_steps": 100}


# ---- layouts and EOS ---------------------------------------------------------------------------------------
def test_flat_layout_is_the_factorized_one_interleaved_into_disjoint_id_ranges(data):
    deltas, events = data
    factorized = TrajectoryTokenizer(DIMS, EVENTS).fit(deltas)
    flat = TrajectoryTokenizer(DIMS, EVENTS, layout="flat").fit(deltas)
    assert flat.vocab_sizes == factorized.vocab_sizes == (25, 25, 3)
    assert flat.vocab_size == 53 and flat.channel_offsets == (0, 25, 50)
    steps = factorized.encode(deltas[0], events[0], add_eos=True)
    stream = flat.encode(deltas[0], events[0], add_eos=True)
    assert stream.shape == (3 * len(steps),)
    assert np.array_equal(stream, (steps + [0, 25, 50]).ravel())
    for c, (low, size) in enumerate(zip(flat.channel_offsets, flat.vocab_sizes, strict=True)):
        assert np.all((stream[c::3] >= low) & (stream[c::3] < low + size))
    a, b = factorized.decode(steps), flat.decode(stream)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_eos_appends_one_step_and_decoding_stops_at_the_first(fitted, data):
    deltas, events = data
    d, e = deltas[0], events[0]
    tokens = fitted.encode(d, e, add_eos=True)
    assert tokens.shape == (len(d) + 1, 3)
    assert tuple(tokens[-1]) == fitted.eos_ids == (24, 24, 2)
    assert np.all(tokens[:-1] < np.array(fitted.eos_ids))
    garbage_after = np.concatenate([tokens, tokens[:5]])
    decoded, decoded_events = fitted.decode(garbage_after)
    assert len(decoded) == len(d) and np.array_equal(decoded_events, e)
    partial = tokens.copy()
    partial[10, 1] = fitted.eos_ids[1]  # a step where only one channel says EOS also ends the sequence
    assert len(fitted.decode(partial)[0]) == 10
    assert len(fitted.decode(tokens[-1:])[0]) == 0


def test_flat_stream_may_end_in_a_partial_step_after_eos(data):
    deltas, events = data
    flat = TrajectoryTokenizer(DIMS, EVENTS, layout="flat").fit(deltas)
    stream = flat.encode(deltas[0], events[0], add_eos=True)
    decoded, _ = flat.decode(np.concatenate([stream[:-2], [7]]))  # EOS step cut short, then junk
    assert len(decoded) == len(deltas[0])
    with pytest.raises(ValueError, match="not whole steps"):
        flat.decode(stream[: 3 * 4 + 1])


def test_without_eos_the_vocabulary_has_no_eos_ids(data):
    deltas, events = data
    plain = TrajectoryTokenizer(DIMS, EVENTS, eos=False).fit(deltas)
    assert plain.vocab_sizes == (24, 24, 2)
    with pytest.raises(ValueError, match="eos=True"):
        plain.encode(deltas[0], events[0], add_eos=True)
    with pytest.raises(ValueError, match="not a valid 'dy' token"):
        plain.decode(np.array([[0, 24, 0]]))


# ---- bins --------------------------------------------------------------------------------------------------
def test_schemes_behave_as_named():
    rng = np.random.default_rng(2)
    x = rng.laplace(0.0, 1.0, 50_000).astype(np.float32)
    quantile = fit_bins(x, 24, "quantile")
    assert quantile.counts.max() - quantile.counts.min() <= 2
    uniform = fit_bins(x, 24, "uniform")
    assert np.allclose(np.diff(uniform.edges), np.diff(uniform.edges)[0], rtol=1e-3)
    assert uniform.edges[0] == pytest.approx(np.percentile(x, 1), rel=1e-5)
    adaptive = fit_bins(x, 24, "adaptive")
    assert adaptive.edges[0] == x.min() and adaptive.edges[-1] == x.max()
    assert adaptive.counts.min() >= int(ADAPTIVE_MIN_SHARE * len(x))
    assert adaptive.counts.sum() == len(x)
    widths = np.diff(adaptive.edges)
    assert widths[12] < widths[0] / 10 and widths[12] < widths[-1] / 10  # fine near zero, wide tails
    for bins in (quantile, uniform, adaptive):
        assert np.all(bins.values >= bins.edges[:-1]) and np.all(bins.values <= bins.edges[1:])
        members = bins.index(x[(x >= bins.edges[0]) & (x <= bins.edges[-1])])
        inside = x[(x >= bins.edges[0]) & (x <= bins.edges[-1])]
        k = int(np.argmax(np.bincount(members)))
        assert bins.values[k] == pytest.approx(inside[members == k].mean(), rel=1e-4)  # a measured mean


def test_adaptive_halves_the_uniform_error_on_heavy_tailed_deltas(data):
    deltas, _ = handwriting_like(200, seed=3)
    fit_part, held_out = deltas[:150], deltas[150:]
    errors = {
        scheme: measure(TrajectoryTokenizer(DIMS, EVENTS, scheme=scheme).fit(fit_part), held_out).rmse
        for scheme in SCHEMES
    }
    assert errors["adaptive"] <= 0.5 * errors["uniform"]
    assert errors["adaptive"] < errors["quantile"]


def test_constant_and_few_valued_dims_still_get_n_bins():
    rng = np.random.default_rng(4)
    steps = 500
    deltas = np.stack(
        [rng.normal(0, 1, steps), np.zeros(steps), rng.choice([-1.0, 0.0, 2.5], steps)], axis=1
    ).astype(np.float32)
    for scheme in SCHEMES:
        tokenizer = TrajectoryTokenizer(("dx", "dy", "dz"), ("gripper",), n_bins=8, scheme=scheme)
        tokenizer.fit([deltas])
        assert all(len(b.values) == 8 for b in tokenizer.bins)
        decoded, _ = tokenizer.decode(
            tokenizer.encode(deltas, np.zeros((steps, 1), bool), error_feedback=False)
        )
        assert np.array_equal(decoded[:, 1], deltas[:, 1])
        if scheme != "uniform":  # uniform spreads 8 bins over [-1, 2.5], so 0 is not a bin value
            assert np.array_equal(decoded[:, 2], deltas[:, 2])


# ---- clipping ----------------------------------------------------------------------------------------------
def test_values_beyond_the_fitted_range_clip_to_the_outer_bins_and_are_counted():
    deltas = [np.random.default_rng(5).uniform(-1, 1, (400, 2)).astype(np.float32)]
    tokenizer = TrajectoryTokenizer(DIMS, EVENTS, error_feedback=False).fit(deltas)
    wild = np.array([[5.0, 0.0], [-7.0, 0.1], [1e30, -1e30], [0.2, 0.3]], dtype=np.float32)
    tokens = tokenizer.encode(wild, np.zeros((4, 1), bool))
    assert tuple(tokens[:3, 0]) == (23, 0, 23) and tokens[2, 1] == 0
    assert tokenizer.clipped.tolist() == [3, 1]
    decoded, _ = tokenizer.decode(tokens)
    assert decoded[0, 0] == tokenizer.bins[0].values[-1] and decoded[1, 0] == tokenizer.bins[0].values[0]
    tokenizer.encode(wild[:1], np.zeros((1, 1), bool))
    assert tokenizer.clipped.tolist() == [4, 1]
    before = tokenizer.clipped.copy()
    assert [d.clipped for d in measure(tokenizer, [wild]).dims] == [3, 1]
    assert np.array_equal(tokenizer.clipped, before)  # measuring leaves the counters alone


# ---- persistence -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_save_load_round_trip_is_exact(tmp_path, data, layout):
    deltas, events = data
    tokenizer = TrajectoryTokenizer(DIMS, EVENTS, n_bins=16, layout=layout, eos=False, error_feedback=False)
    tokenizer.fit(deltas)
    path = tokenizer.save(tmp_path / "sub" / "tok.json")
    stored = json.loads(path.read_text())
    assert stored["version"] == 1 and stored["bins"]["dy"]["edges"] == tokenizer.bins[1].edges.tolist()
    loaded = TrajectoryTokenizer.load(path, dim_names=DIMS, event_names=EVENTS)
    assert loaded.to_dict() == tokenizer.to_dict()
    assert (loaded.layout, loaded.eos, loaded.error_feedback, loaded.n_bins) == (layout, False, False, 16)
    for d, e in zip(deltas[:5], events[:5], strict=True):
        assert np.array_equal(loaded.encode(d, e), tokenizer.encode(d, e))
    assert TrajectoryTokenizer.from_dict(tokenizer.to_dict()).to_dict() == tokenizer.to_dict()


def test_loading_a_tokenizer_that_does_not_fit_fails_naming_the_file(tmp_path, fitted):
    good = fitted.to_dict()
    cases = {
        "newer.json": dict(good, version=2),
        "foreign.json": {"hello": "world"},
        "damaged.json": dict(good, bins={"dx": good["bins"]["dx"]}),
        "outside.json": dict(good, bins=dict(good["bins"], dx=dict(good["bins"]["dx"], values=[1e9] * 24))),
        "missing_key.json": {k: v for k, v in good.items() if k != "n_bins"},
    }
    messages = {"newer.json": "version 2", "foreign.json": "not a trajtok", "damaged.json": "bins for"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(content))
        with pytest.raises(DataError, match=messages.get(name, "damaged")) as error:
            TrajectoryTokenizer.load(path)
        assert str(path) in str(error.value)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        TrajectoryTokenizer.load(tmp_path / "broken.json")
    fitted.save(tmp_path / "ok.json")
    with pytest.raises(DataError, match="ok.json: tokenizer dims"):
        TrajectoryTokenizer.load(tmp_path / "ok.json", dim_names=("dx", "dy", "dz"))
    with pytest.raises(DataError, match="tokenizer events"):
        TrajectoryTokenizer.load(tmp_path / "ok.json", dim_names=DIMS, event_names=("gripper",))
    with pytest.raises(FileNotFoundError):
        TrajectoryTokenizer.load(tmp_path / "absent.json")


# ---- bad input ---------------------------------------------------------------------------------------------
def test_bad_trajectories_are_rejected_naming_index_and_problem(fitted, data):
    deltas, events = data
    nan = deltas[2].copy()
    nan[7, 1] = np.nan
    inf = deltas[2].copy()
    inf[3, 0] = np.inf
    cases = [
        (nan, events[2], r"trajectory 2: NaN in deltas at step 7, dim 'dy'"),
        (inf, events[2], r"trajectory 2: inf in deltas at step 3, dim 'dx'"),
        (np.zeros((0, 2), np.float32), np.zeros((0, 1), bool), r"trajectory 2: empty trajectory"),
        (deltas[2][:, :1], events[2], r"trajectory 2: deltas must have shape \(T, 2\)"),
        (deltas[2][:, 0], events[2], r"trajectory 2: deltas must have shape"),
        (deltas[2], events[2][:-1], r"trajectory 2: events must have shape"),
        (deltas[2], np.full(events[2].shape, 2), r"trajectory 2: event 'pen_lift' at step 0 is 2"),
        (deltas[2], None, r"trajectory 2: events \('pen_lift',\) are missing"),
        (deltas[2].astype(str), events[2], r"trajectory 2: deltas must be numbers"),
    ]
    for bad_deltas, bad_events, message in cases:
        with pytest.raises(ValueError, match=message):
            fitted.encode_batch(deltas[:2] + [bad_deltas], events[:2] + [bad_events])
        with pytest.raises(ValueError, match=message.replace("trajectory 2", "trajectory")):
            fitted.encode(bad_deltas, bad_events)
    with pytest.raises(ValueError, match="trajectory 1: NaN"):
        TrajectoryTokenizer(DIMS, EVENTS).fit([deltas[0], nan])
    with pytest.raises(ValueError, match="trajectory 0: empty"):
        TrajectoryTokenizer(DIMS, EVENTS).fit([np.zeros((0, 2))])
    with pytest.raises(ValueError, match="no trajectories"):
        TrajectoryTokenizer(DIMS, EVENTS).fit([])
    with pytest.raises(ValueError, match="2 delta arrays but 1 event"):
        fitted.encode_batch(deltas[:2], events[:1])


def test_bad_tokens_and_misuse_are_rejected(fitted, data):
    with pytest.raises(ValueError, match=r"tokens: id 30 at step 1 is not a valid 'dx' token \(0..23\)"):
        fitted.decode(np.array([[0, 0, 0], [30, 0, 0]]))
    with pytest.raises(ValueError, match="not a valid 'pen_lift' token"):
        fitted.decode(np.array([[0, 0, -1]]))
    with pytest.raises(ValueError, match=r"tokens 1: factorized tokens must have shape \(T, 3\)"):
        fitted.decode_batch([np.zeros((2, 3), np.int64), np.zeros((2, 4), np.int64)])
    with pytest.raises(ValueError, match="must be integers"):
        fitted.decode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        TrajectoryTokenizer(DIMS, EVENTS).encode(data[0][0], data[1][0])
    for kwargs, message in [
        ({"scheme": "fancy"}, "unknown bin scheme"),
        ({"layout": "zigzag"}, "unknown token layout"),
        ({"n_bins": 1}, "at least 2"),
        ({"event_names": ("dx",)}, "unique"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrajectoryTokenizer(DIMS, **{"event_names": EVENTS, **kwargs})


# ---- stats -------------------------------------------------------------------------------------------------
def test_measure_reports_errors_counts_and_drift(fitted, data):
    deltas, events = data
    report = measure(fitted, deltas)
    stacked = np.concatenate(deltas)
    decoded = np.concatenate([fitted.decode(fitted.encode(d, e, error_feedback=False))[0] for d, e in zip(
        deltas, events, strict=True)])  # fmt: skip
    assert report.n_steps == len(stacked) and report.n_trajectories == len(deltas)
    assert report.rmse == pytest.approx(np.sqrt(np.mean((decoded - stacked) ** 2)), rel=1e-4)
    assert report.dims[1].max_error == pytest.approx(np.abs(decoded - stacked)[:, 1].max(), rel=1e-4)
    assert [int(d.counts.sum()) for d in report.dims] == [len(stacked)] * 2
    assert report.drift_feedback < 0.25 * report.drift_plain
    assert report.drift_ratio == pytest.approx(report.drift_feedback / report.drift_plain)
    assert json.loads(json.dumps(report.to_dict()))["dims"][0]["name"] == "dx"
