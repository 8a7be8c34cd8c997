"""Strokes -> board waypoints: geometry, clearance, limits, refusals, fitting, streaming == batch."""

from __future__ import annotations

import numpy as np
import pytest

from trajtok.board import BoardConfig
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.motion_profile import Waypoints
from trajtok.phrase_layout import point_words
from trajtok.strokes import integrate, join_strokes, split_strokes
from trajtok.waypoints import WaypointPlanner, plan_waypoints

SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
ZIGZAG = np.array([[1.5 + 0.3 * i, i % 2] for i in range(8)], dtype=float)
CIRCLE = np.stack(
    [4 + 0.5 * np.cos(np.linspace(0, 2 * np.pi, 80)), 0.5 + 0.5 * np.sin(np.linspace(0, 2 * np.pi, 80))], 1
)
DOT = np.array([[5.5, 0.5]])


def shapes() -> np.ndarray:
    return join_strokes([SQUARE, ZIGZAG, CIRCLE, DOT])


def handwriting(text: str = "hello world") -> np.ndarray:
    sample = synthesize(text, style_id=0, seed=0)
    return integrate(sample.deltas, sample.events[:, 0])


@pytest.fixture(scope="module")
def board() -> BoardConfig:
    return BoardConfig()


def motion(wp: Waypoints, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Control-rate speed (N-1,) and acceleration (N-2,) magnitudes of the commanded tip."""
    velocity = np.diff(wp.xyz_m, axis=0) * rate_hz
    return np.linalg.norm(velocity, axis=1), np.linalg.norm(np.diff(velocity, axis=0) * rate_hz, axis=1)


@pytest.mark.parametrize("points", [shapes(), handwriting()], ids=["shapes", "handwriting"])
def test_pen_down_on_the_surface_pen_up_lifted_by_the_clearance(points, board):
    wp = plan_waypoints(points, board)
    uvn = board.to_board(wp.xyz_m)
    assert wp.pen_down.any() and (~wp.pen_down).any()
    np.testing.assert_allclose(uvn[wp.pen_down, 2], 0.0, atol=1e-12)
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    assert (uvn[:, 0] >= u_min).all() and (uvn[:, 0] <= u_max).all()
    assert (uvn[:, 1] >= v_min).all() and (uvn[:, 1] <= v_max).all()
    # Off the strokes' ends (where it lifts and lowers along the normal) a pen-up tip is one clearance off.
    vertices = plan_waypoints(points, board, resample=False)
    ends_uv = board.to_board(vertices.xyz_m[vertices.pen_down])[:, :2]
    up = uvn[~wp.pen_down]
    off_ends = np.linalg.norm(up[:, None, :2] - ends_uv[None], axis=2).min(axis=1) > 1e-9
    assert off_ends.sum() > 10
    np.testing.assert_allclose(up[off_ends, 2], board.pen_up_clearance_m, atol=1e-12)
    assert (uvn[:, 2] >= -1e-12).all()


def test_approach_and_retract_along_the_normal(board):
    wp = plan_waypoints(shapes(), board)
    first, last = board.to_board(wp.xyz_m[[0, -1]])
    assert first[2] == pytest.approx(board.approach_m)
    assert last[2] == pytest.approx(board.approach_m)
    vertices = plan_waypoints(shapes(), board, resample=False)
    first_down = board.to_board(vertices.xyz_m[vertices.pen_down][:1])[0]
    np.testing.assert_allclose(first[:2], first_down[:2], atol=1e-12)
    assert wp.t_s[0] == 0 and (np.diff(wp.t_s) > 0).all()


@pytest.mark.parametrize("points", [shapes(), handwriting("minimum zigzag")], ids=["shapes", "handwriting"])
def test_speed_and_acceleration_limits(points, board):
    wp = plan_waypoints(points, board)
    speed, accel = motion(wp, board.control_rate_hz)
    writing = wp.pen_down[1:] & wp.pen_down[:-1]
    assert speed[writing].max() <= board.write_speed_mps + 1e-9
    assert speed[writing].max() > 0.9 * board.write_speed_mps  # it does write at the asked speed
    assert speed.max() <= board.travel_speed_mps + 1e-9
    assert accel.max() <= board.max_accel_mps2 + 1e-9


def test_slower_limits_give_a_slower_plan(board):
    fast = plan_waypoints(shapes(), board)
    slow_board = load_config(BoardConfig, None, ["write_speed_mps=0.02", "max_accel_mps2=0.5"])
    slow = plan_waypoints(shapes(), slow_board)
    assert slow.duration_s > 1.5 * fast.duration_s
    speed, accel = motion(slow, slow_board.control_rate_hz)
    assert speed[slow.pen_down[1:] & slow.pen_down[:-1]].max() <= 0.02 + 1e-9
    assert accel.max() <= 0.5 + 1e-9


def test_the_path_follows_the_strokes_at_the_letter_height(board):
    polyline = BoardConfig(smooth=False)
    wp = plan_waypoints(shapes(), polyline, resample=False)
    down = polyline.to_board(wp.xyz_m[wp.pen_down])[:, :2]
    square = down[: len(SQUARE)]
    side = polyline.letter_height_m
    np.testing.assert_allclose(square - square[0], SQUARE * side, atol=1e-12)
    start_u, start_v = polyline.first_baseline_uv_m(polyline.letter_height_m)
    np.testing.assert_allclose(square[0], [start_u, start_v], atol=1e-12)
    # Smoothed (the default), the pen passes through every corner in turn on a rounder, denser path.
    smooth = plan_waypoints(shapes(), board, resample=False)
    first_stroke = board.to_board(
        smooth.xyz_m[: np.flatnonzero(np.diff(smooth.pen_down.astype(int)) < 0)[0] + 1]
    )
    first_stroke = first_stroke[smooth.pen_down[: len(first_stroke)], :2]
    corners = square[0] + SQUARE * side
    hits = [int(np.argmin(np.linalg.norm(first_stroke - corner, axis=1))) for corner in corners]
    assert all(np.linalg.norm(first_stroke[h] - c) < 1e-9 for h, c in zip(hits, corners, strict=True))
    assert hits[:-1] == sorted(hits[:-1]) and len(first_stroke) > 4 * len(SQUARE)  # SQUARE closes on itself


def test_a_dot_is_held_on_the_board(board):
    wp = plan_waypoints(join_strokes([DOT]), board)
    assert wp.pen_down.sum() >= round(board.dot_dwell_s * board.control_rate_hz)


def test_long_text_wraps_between_words_not_inside_them():
    board = BoardConfig(smooth=False)  # the layout on the strokes' own points
    word = [SQUARE, SQUARE + [1.5, 0]]  # a two-letter word, 2.5 units wide
    strokes = [s + [4.0 * i, 0] for i in range(8) for s in word]  # 8 words, 1.5 units apart: 30 units
    wp = plan_waypoints(join_strokes(strokes), board, resample=False)
    down = board.to_board(wp.xyz_m[wp.pen_down])[:, :2]
    baselines = np.unique(np.round(down[:, 1].reshape(-1, len(SQUARE)).min(axis=1), 6))
    assert len(baselines) >= 2
    assert np.diff(baselines[::-1]) == pytest.approx(-board.line_spacing * board.letter_height_m)
    per_word = down[:, 1].reshape(8, -1)  # both letters of each word share one line
    assert (per_word.min(axis=1) == per_word[:, 0]).all()
    np.testing.assert_allclose(np.ptp(per_word, axis=1), board.letter_height_m)
    start_u, _ = board.first_baseline_uv_m(board.letter_height_m)  # where the first word starts
    new_lines = np.flatnonzero(np.diff(per_word.min(axis=1)) < 0) + 1
    np.testing.assert_allclose(down.reshape(8, -1, 2)[new_lines, 0, 0], start_u, atol=1e-12)


def test_too_big_is_refused_with_what_to_change():
    board = BoardConfig(letter_height_m=0.2)
    with pytest.raises(ValueError, match=r"point \d+ .*outside the writable board area") as info:
        plan_waypoints(shapes(), board)
    message = str(info.value)
    for hint in ("letter_height_m", "start_uv_m", "fit=scale"):
        assert hint in message


def test_text_too_long_for_the_boards_lines_is_refused_saying_so():
    strokes = [s + [4.0 * i, 0] for i in range(20) for s in (SQUARE, SQUARE + [1.5, 0])]  # 80 units
    with pytest.raises(ValueError, match=r"the text runs to line 4; the board has room for 3\)") as info:
        plan_waypoints(join_strokes(strokes), BoardConfig(letter_height_m=0.03))
    assert "outside the writable board area" in str(info.value) and "fit=scale" in str(info.value)


def test_a_word_wider_than_a_line_is_refused_saying_so():
    word = [SQUARE + [1.5 * i, 0] for i in range(14)]  # one word, 20.5 units: a line holds 17.5
    with pytest.raises(ValueError, match=r"a word wider than a line, which holds 17\.5 units"):
        plan_waypoints(join_strokes(word), BoardConfig())
    with pytest.raises(ValueError) as info:  # not the word's fault: wrapping is off
        plan_waypoints(join_strokes(word), BoardConfig(wrap=False))
    assert "wider than a line" not in str(info.value)


def test_no_wrap_refuses_a_line_too_long():
    strokes = [SQUARE + [2.0 * i, 0] for i in range(20)]
    with pytest.raises(ValueError, match="outside the writable board area"):
        plan_waypoints(join_strokes(strokes), BoardConfig(wrap=False))


def test_out_of_reach_is_refused():
    board = BoardConfig(letter_height_m=0.1, start_uv_m=(-0.2, 0.0), reach_max_m=0.62)
    with pytest.raises(ValueError, match=r"beyond reach_max_m=0.62.*fit=scale"):
        plan_waypoints(shapes(), board)


@pytest.mark.parametrize(
    "config",
    [{"letter_height_m": 0.2}, {"letter_height_m": 0.1, "start_uv_m": (-0.2, 0.0), "reach_max_m": 0.62}],
    ids=["board", "reach"],
)
def test_scale_to_fit(config):
    board = BoardConfig(fit="scale", smooth=False, **config)  # the layout on the strokes' own points
    wp = plan_waypoints(shapes(), board, resample=False)
    down = board.to_board(wp.xyz_m[wp.pen_down])
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    assert (down[:, 0] >= u_min).all() and (down[:, 0] <= u_max).all()
    assert (down[:, 1] >= v_min).all() and (down[:, 1] <= v_max).all()
    reach = np.linalg.norm(wp.xyz_m - np.asarray(board.reach_center_m), axis=1)
    assert reach.max() <= board.reach_max_m
    square = down[: len(SQUARE), :2]
    side = np.ptp(square[:, 0])
    assert 0 < side < board.letter_height_m  # shrunk, same shape
    np.testing.assert_allclose(square - square[0], SQUARE * side, atol=1e-12)


def on_the_writable_area(wp: Waypoints, board: BoardConfig) -> bool:
    uv = board.to_board(wp.xyz_m)[:, :2]
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    return bool(((uv >= (u_min, v_min)) & (uv <= (u_max, v_max))).all())


@pytest.mark.parametrize("style", range(6))
def test_the_default_start_keeps_tall_letters_and_back_hooks_on_the_board(style, board):
    # the script writers' h rises more than 2.2 units above the baseline (the room the board used to keep);
    # their j, f and p loop back up to 0.9 units left of where the first word starts (0.5 were kept)
    for text in ("hi", "gap zoo", "jolly fig", "fresh", "pond"):
        sample = synthesize(text, style, seed=0)
        points = integrate(sample.deltas, sample.events[:, 0])
        assert on_the_writable_area(plan_waypoints(points, board), board)


def test_fit_scale_brings_a_letter_taller_than_the_ascender_under_the_top_margin():
    tall = np.array([[-0.5, 0.0], [0.0, 4.0], [0.5, 0.0]])  # 4 units tall, half a unit left of the start
    for fit in ("error", "scale"):
        board = BoardConfig(ascender=2.0, lead=0.0, fit=fit, smooth=False)
        if fit == "error":
            with pytest.raises(ValueError, match="outside the writable board area"):
                plan_waypoints(join_strokes([tall]), board)
            continue
        wp = plan_waypoints(join_strokes([tall]), board, resample=False)
        assert on_the_writable_area(wp, board)
        down = board.to_board(wp.xyz_m[wp.pen_down])[:, :2]
        assert np.ptp(down[:, 1]) == pytest.approx(4.0 * board.letter_height_m)  # room made, not shrunk
        u_min, _, _, v_max = board.writable_uv_m()
        assert down[:, 0].min() == pytest.approx(u_min) and down[:, 1].max() == pytest.approx(v_max)


def test_scale_gives_up_on_the_impossible():
    board = BoardConfig(fit="scale", center_m=(2.0, 0.0, 0.5))
    with pytest.raises(ValueError, match="does not fit even at"):
        plan_waypoints(shapes(), board)


def assert_same(streamed: Waypoints, batch: Waypoints) -> None:
    np.testing.assert_array_equal(streamed.t_s, batch.t_s)
    np.testing.assert_array_equal(streamed.xyz_m, batch.xyz_m)
    np.testing.assert_array_equal(streamed.pen_down, batch.pen_down)


def pen_down_runs(wp: Waypoints) -> int:
    return int(wp.pen_down[0]) + int((wp.pen_down[1:] & ~wp.pen_down[:-1]).sum()) if len(wp) else 0


def line_of_each_word(wp: Waypoints, board: BoardConfig, n_words: int) -> np.ndarray:
    """The baseline of each of n_words words of as many SQUAREs each (pen-down runs in order)."""
    down = board.to_board(wp.xyz_m[wp.pen_down])[:, :2]
    return np.round(down[:, 1].reshape(n_words, -1).min(axis=1), 6)


def test_declared_words_decide_where_a_line_wraps_whatever_the_gaps():
    """Words closer than `word_gap` (as a slanted hand's look) run together by their gaps, so the line
    cannot wrap; a word with a letter gap wider than `word_gap` (a wide print hand) would split. Declared,
    each wraps whole."""
    board = BoardConfig(smooth=False)
    tight = [s + [2.9 * i, 0] for i in range(8) for s in (SQUARE, SQUARE + [1.5, 0])]  # 0.4 apart
    words = np.repeat(np.arange(8), 2 * len(SQUARE))
    with pytest.raises(ValueError, match="outside the writable board area"):
        plan_waypoints(join_strokes(tight), board, resample=False)
    lines = line_of_each_word(plan_waypoints(join_strokes(tight), board, False, words), board, 8)
    assert len(np.unique(lines)) == 2 and (np.diff(lines) <= 0).all()  # wrapped once, between words

    wide = [s + [5.2 * i, 0] for i in range(6) for s in (SQUARE, SQUARE + [2.0, 0])]  # letters 1.0 apart
    words = np.repeat(np.arange(6), 2 * len(SQUARE))
    split = line_of_each_word(plan_waypoints(join_strokes(wide), board, False), board, 12).reshape(6, 2)
    whole = line_of_each_word(plan_waypoints(join_strokes(wide), board, False, words), board, 12)
    assert (split[:, 0] != split[:, 1]).any()  # the gaps split a word across two lines
    assert len(np.unique(whole)) == 2 and (whole[0::2] == whole[1::2]).all()  # declared: never


def test_where_words_are_not_declared_the_gaps_decide():
    """-1 words (a piece of several words) fall back to the gaps, next to declared ones."""
    board = BoardConfig(smooth=False)
    strokes = [s + [4.0 * i, 0] for i in range(8) for s in (SQUARE, SQUARE + [1.5, 0])]  # 1.5 apart
    points = join_strokes(strokes)
    unknown = np.full(len(points), -1)
    assert_same(plan_waypoints(points, board, words=unknown), plan_waypoints(points, board))


def test_streaming_with_declared_words_is_the_batch_plan():
    sample = synthesize("Wednesday Spider warm", style_id=5, seed=0)  # a slanted hand, wrapped once
    points = integrate(sample.deltas, sample.events[:, 0])
    words = point_words(sample)
    board = BoardConfig()
    batch = plan_waypoints(points, board, words=words)
    planner = WaypointPlanner(board)
    cuts = np.arange(7, len(points), 7)
    parts = [planner.feed(p, w) for p, w in zip(np.split(points, cuts), np.split(words, cuts), strict=True)]
    assert_same(Waypoints.concatenate([*parts, planner.finish()]), batch)


@pytest.mark.parametrize("resample", [True, False])
@pytest.mark.parametrize("fit", ["error", "scale"])
def test_streaming_planner_equals_batch(resample, fit):
    board = BoardConfig(fit=fit)
    points = handwriting("a quick brown fox jumps")  # two lines on the default board
    batch = plan_waypoints(points, board, resample=resample)
    planner = WaypointPlanner(board, resample=resample)
    parts = [planner.feed(points[i : i + 1]) for i in range(len(points))]
    if fit == "error":  # words come out while streaming, before the input ends
        assert sum(len(p) for p in parts) > 0.5 * len(batch)
    else:  # the letter height depends on all the text
        assert sum(len(p) for p in parts) == 0
    assert_same(Waypoints.concatenate([*parts, planner.finish()]), batch)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"wrap": False, "letter_height_m": 0.025},
        {"letter_height_m": 0.035, "width_m": 0.3, "height_m": 0.6},
        {"word_gap": 0.3},
    ],
    ids=["default", "no-wrap", "four-lines", "narrow-gap"],
)
def test_any_chunking_streams_the_batch_plan(config):
    board = BoardConfig(**config)
    points = handwriting("the quick brown fox")
    batch = plan_waypoints(points, board)
    rng = np.random.default_rng(0)
    for _ in range(3):
        cuts = np.sort(rng.choice(np.arange(1, len(points)), size=12, replace=False))
        planner = WaypointPlanner(board)
        parts = [planner.feed(chunk) for chunk in np.split(points, cuts)]
        assert_same(Waypoints.concatenate([*parts, planner.finish()]), batch)


def test_the_approach_comes_out_with_the_first_point(board):
    points = handwriting()
    planner = WaypointPlanner(board)
    approach = planner.feed(points[:1])
    assert len(approach) > 1 and not approach.pen_down.any()
    uvn = board.to_board(approach.xyz_m)
    assert uvn[0, 2] == pytest.approx(board.approach_m)
    assert uvn[-1, 2] == pytest.approx(0.0, abs=1e-12)
    start_u, start_v = board.first_baseline_uv_m(board.letter_height_m)
    first_uv = [
        start_u + points[0, 0] * board.letter_height_m,
        start_v + points[0, 1] * board.letter_height_m,
    ]
    np.testing.assert_allclose(uvn[:, :2], np.broadcast_to(first_uv, (len(uvn), 2)), atol=1e-12)
    batch, n = plan_waypoints(points, board), len(approach)
    assert_same(approach, Waypoints(batch.t_s[:n], batch.xyz_m[:n], batch.pen_down[:n]))


@pytest.mark.parametrize("wrap", [True, False])
def test_strokes_come_out_as_soon_as_their_place_is_known(wrap):
    """Two words of two strokes each. The first word never wraps: each stroke comes out with its pen lift.
    The second could wrap, which needs its width: with wrapping it waits for the end of the input."""
    first_word = [SQUARE, SQUARE + [1.5, 0]]
    second_word = [s + [4.0, 0] for s in first_word]
    board = BoardConfig(wrap=wrap)
    planner = WaypointPlanner(board)
    streamed = []
    for stroke in join_strokes(first_word + second_word).reshape(4, len(SQUARE), 3):
        streamed.append(planner.feed(stroke))
    runs = np.cumsum([pen_down_runs(part) for part in streamed])
    assert runs.tolist() == ([1, 2, 2, 2] if wrap else [1, 2, 3, 4])
    finished = planner.finish()
    assert pen_down_runs(finished) == (2 if wrap else 0)
    assert_same(
        Waypoints.concatenate([*streamed, finished]),
        plan_waypoints(join_strokes(first_word + second_word), board),
    )


def test_a_refusal_mid_word_then_abort_retracts_off_the_board(board):
    """A first word whose second stroke runs off the board: its first stroke and the head of the second are
    out before the refusal; abort brings the pen back off the board within the limits."""
    points = join_strokes([SQUARE, np.array([[0.0, 0.5], [40.0, 0.5]])])
    planner = WaypointPlanner(board)
    streamed = []
    with pytest.raises(ValueError, match="outside the writable board area"):
        for point in points:
            streamed.append(planner.feed(point[None]))
    assert pen_down_runs(Waypoints.concatenate(streamed)) == 1
    stopped = Waypoints.concatenate([*streamed, planner.abort()])
    uvn = board.to_board(stopped.xyz_m)
    u_min, u_max, *_ = board.writable_uv_m()
    assert (uvn[:, 0] >= u_min).all() and (uvn[:, 0] <= u_max).all()
    assert uvn[-1, 2] == pytest.approx(board.approach_m)  # retracted, above the refused stroke's start
    start_u, start_v = board.first_baseline_uv_m(board.letter_height_m)
    np.testing.assert_allclose(uvn[-1, :2], [start_u, start_v + 0.5 * board.letter_height_m], atol=1e-12)
    assert (np.diff(stopped.t_s) > 0).all()
    speed, accel = motion(stopped, board.control_rate_hz)
    assert speed.max() <= board.travel_speed_mps + 1e-9 and accel.max() <= board.max_accel_mps2 + 1e-9
    # Fed at once, the refusal drops the call's output; abort hands back what was planned before it.
    planner = WaypointPlanner(board)
    with pytest.raises(ValueError, match="outside the writable board area"):
        planner.feed(points)
    assert_same(planner.abort(), stopped)
    assert len(planner.abort()) == 0 and len(planner.finish()) == 0
    with pytest.raises(ValueError, match="after finish"):
        planner.feed(points[:1])


def test_streaming_decoded_deltas_equals_batch(board):
    sample = synthesize("hello world", style_id=1, seed=3)
    batch = plan_waypoints(integrate(sample.deltas, sample.events[:, 0]), board)
    planner = WaypointPlanner(board)
    parts = [planner.feed_deltas(d[None], e) for d, e in zip(sample.deltas, sample.events[:, 0], strict=True)]
    streamed = Waypoints.concatenate([*parts, planner.finish()])
    np.testing.assert_allclose(streamed.xyz_m, batch.xyz_m, atol=1e-6)  # float32 cumsum vs float64
    np.testing.assert_array_equal(streamed.pen_down, batch.pen_down)


def test_every_stroke_is_written_once(board):
    points = handwriting()
    wp = plan_waypoints(points, board, resample=False)
    n_strokes = len(split_strokes(points))
    starts = np.flatnonzero(wp.pen_down[1:] & ~wp.pen_down[:-1]) + 1
    assert len(starts) + int(wp.pen_down[0]) == n_strokes


@pytest.mark.parametrize(
    "bad, message",
    [(np.zeros((4, 2)), r"shape \(T, 3\)"), (np.array([[0, 0, 0], [np.nan, 0, 1]]), "point 1 is not finite")],
)
def test_bad_points(bad, message, board):
    with pytest.raises(ValueError, match=message):
        plan_waypoints(bad, board)


@pytest.mark.parametrize("words", [np.zeros(3, int), np.full(len(SQUARE), -2), np.zeros(len(SQUARE))])
def test_bad_words(words, board):
    with pytest.raises(ValueError, match="words must be"):
        plan_waypoints(join_strokes([SQUARE]), board, words=words)


@pytest.mark.parametrize(
    "override, message",
    [
        ("write_speed_mps=1.0", "exceeds max_speed_mps"),
        ("max_accel_mps2=0", "must be > 0"),
        ("margin_m=0.3", "no writable area"),
        ("fit=shrink", "not one of"),
        ("ascender=-1", "ascender must be >= 0"),
        ("lead=-0.5", "lead must be >= 0"),
    ],
)
def test_bad_board_config(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(BoardConfig, None, [override])


def test_empty_input_plans_nothing(board):
    assert len(plan_waypoints(np.zeros((0, 3)), board)) == 0
