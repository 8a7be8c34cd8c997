"""trajtok studio's HTTP API against the real server (uvicorn in a subprocess, the shipped models): the Write
stream, downloads, reading, the dataset, write like me, the robot, and what bad requests get."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse

import numpy as np
import pytest
from studio_support import events, pad_drawing, word_strokes

from trajtok.data import load_source
from trajtok.generate import Sampling, Writer
from trajtok.strokes import integrate, smooth_stroke, split_strokes
from trajtok.word_layout import write_word_by_word

LONG_PHRASE = "the quick brown fox jumps over the lazy dog while we wait"  # 57 characters


def write(server, **settings) -> list[tuple[str, dict]]:
    conn, response = server.open_write({"temperature": 0.5, "seed": 0, **settings})
    try:
        assert response.status == 200, response.read()
        return list(events(response))
    finally:
        conn.close()


def streamed_strokes(got: list[tuple[str, dict]]) -> list[np.ndarray]:
    """The strokes the page draws from a stream's ink events: each stroke's final points, then its tail."""
    strokes: dict[int, dict] = {}
    for name, data in got:
        for update in data["updates"] if name == "ink" else []:
            stroke = strokes.setdefault(update["stroke"], {"final": [], "tail": []})
            stroke["final"] += update["final"]
            stroke["tail"] = update["tail"]
    return [np.array(strokes[k]["final"] + strokes[k]["tail"]) for k in sorted(strokes)]


def test_a_write_without_a_seed_says_the_fresh_one_it_drew(server):
    """The page's seed field left empty: the stream's start names the seed, which writes it again."""
    fresh = write(server, text="hi there", seed=None)
    seed = fresh[0][1]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    again = write(server, text="hi there", seed=seed)
    first, second = streamed_strokes(fresh), streamed_strokes(again)
    assert again[0][1]["seed"] == seed and len(first) == len(second) > 0
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert write(server, text="hi")[0][1]["seed"] == 0  # as asked


def health(server) -> dict:
    return server.get("/api/health")[1]


def test_write_streams_the_smoothed_strokes_of_the_phrase_and_its_downloads(server):
    got = write(server, text="hello world")
    names = [name for name, _ in got]
    assert names[0] == "start" and names[-1] == "end" and names.count("ink") >= 2, names
    assert got[0][1]["layout"] == "line"  # a model of whole lines writes them whole
    end = got[-1][1]
    assert end["steps"] > 20 and got[-2][1]["steps"] == end["steps"]
    streamed = streamed_strokes(got)

    status, npz = server.get(f"/api/results/{end['id']}.npz")
    assert status == 200
    with np.load(io.BytesIO(npz)) as files:
        points, texts = files["points_0"], files["texts"]
    assert list(texts) == ["hello world"] and len(points) == end["steps"]
    expected = [smooth_stroke(s.astype(np.float64)) for s in split_strokes(points)]
    assert len(streamed) == len(expected)
    for mine, theirs in zip(streamed, expected, strict=True):  # the page draws the pictures' curve
        assert mine.shape == theirs.shape and np.abs(mine - theirs).max() < 2e-3

    status, png = server.get(f"/api/results/{end['id']}.png")
    assert status == 200 and png.startswith(b"\x89PNG")
    status, svg = server.get(f"/api/results/{end['id']}.svg")
    assert status == 200 and b"<svg" in svg
    status, attention = server.get(f"/api/results/{end['id']}/attention")
    assert status == 200 and attention["text"] == "hello world"
    matrix = np.array(attention["matrix"])
    assert matrix.shape[0] == end["steps"] and matrix.shape[1] >= len("hello world")
    assert server.get("/api/results/0123/attention")[0] == 404


def test_a_phrase_longer_than_the_models_lines_is_written_as_lines_one_below_the_other(server):
    text = "the quick brown fox jumps"  # 25 characters; the shipped model learned lines of up to 24
    got = write(server, text=text)
    start, end = got[0][1], got[-1][1]
    assert start["lines"] == ["the quick brown fox", "jumps"] and end["ended"]
    with np.load(io.BytesIO(server.get(f"/api/results/{end['id']}.npz")[1])) as files:
        page, first, second = files["points"], files["points_0"], files["points_1"]
        assert list(files["texts"]) == start["lines"]
    assert len(page) == len(first) + len(second) == end["steps"]
    assert first[-1, 2] == 1 and page[len(first) - 1, 2] == 1  # the first line ends with a pen lift
    assert np.allclose(page[: len(first), :2], first[:, :2], atol=1e-4)  # each line from its own origin:
    assert np.allclose(page[len(first) :, :2] - [0, -3.0], second[:, :2], atol=1e-4)  # 3 x-heights down
    assert abs(second[0, 0]) < 2 and np.median(page[len(first) :, 1]) < np.median(first[:, 1]) - 2

    attention = server.get(f"/api/results/{end['id']}/attention")[1]
    matrix = np.array(attention["matrix"])
    assert attention["text"] == text and matrix.shape == (end["steps"], len(text))
    cut = len("the quick brown fox ")  # each line's steps read only that line's characters
    assert not matrix[: len(first), cut:].any() and not matrix[len(first) :, : cut - 1].any()
    assert np.allclose(matrix.sum(1), 1, atol=0.02)


def test_a_word_bank_model_writes_each_word_apart_laid_out_as_trajtok_write_lays_it_out(
    word_bank_server, word_bank_checkpoint
):
    text = "quiet river stones"
    got = write(word_bank_server, text=text, temperature=0.0, seed=5)
    start, end = got[0][1], got[-1][1]
    assert start["layout"] == "words" and end["ended"]
    greedy = Sampling(temperature=0.0, seed=5)
    writer = Writer.from_checkpoint(word_bank_checkpoint)
    lines, words = write_word_by_word(lambda texts: writer.write(texts, greedy), [text], seed=5)
    with np.load(io.BytesIO(word_bank_server.get(f"/api/results/{end['id']}.npz")[1])) as files:
        page = files["points"]
    expected = integrate(lines[0].deltas, lines[0].events[:, 0])
    assert len(page) == len(expected) == end["steps"]
    np.testing.assert_allclose(page[:, :2], expected[:, :2], atol=1e-3)

    attention = word_bank_server.get(f"/api/results/{end['id']}/attention")[1]
    matrix = np.array(attention["matrix"])
    assert attention["text"] == text and matrix.shape == (end["steps"], len(text))
    quiet = len(words[0][0])  # each word's steps read only that word's characters, as the model wrote it
    assert not matrix[:quiet, len("quiet") :].any() and not matrix[quiet:, : len("quiet ")].any()
    assert matrix[:quiet, : len("quiet")].sum(1) == pytest.approx(1, abs=0.02)


def test_the_same_seed_writes_the_same_steps(server):
    first, second = (write(server, text="stones", seed=7) for _ in range(2))
    a, b = streamed_strokes(first), streamed_strokes(second)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


BAD_REQUESTS = [
    ("POST", "/api/write", json.dumps({"text": "x" * 10_000}).encode(), 400, "10000 characters"),
    ("POST", "/api/write", b"\x00\xff\xfe\x80binary", 400, "not UTF-8"),
    ("POST", "/api/write", b'{"text": "hello", ', 400, "not valid JSON"),
    ("POST", "/api/write", b'{"text": "hello", "temperature": NaN}', 400, "NaN"),
    ("POST", "/api/write", b'{"text": "hello", "temperature": 1e300}', 400, "between 0 and 5"),
    ("POST", "/api/write", b'{"text": "hello", "temperature": "hot"}', 400, "finite number"),
    ("POST", "/api/write", b'{"text": "hello", "seed": -1}', 400, "seed"),
    ("POST", "/api/write", b'{"text": "hello", "style": "nobody"}', 400, "style 'nobody' unknown"),
    ("POST", "/api/write", b'{"text": "hello", "style": "mine", "writer": "ghost"}', 400, "save a few"),
    ("POST", "/api/write", b'["hello"]', 400, "JSON object"),
    ("POST", "/api/write", json.dumps({"text": "caf\u00e9"}).encode(), 400, "outside this model's alphabet"),
    ("POST", "/api/recognize", b'{"width": 800, "height": 240, "strokes": [[[1, 2, 0, NaN]]]}', 400, "NaN"),
    ("POST", "/api/recognize", b'{"width": 800, "height": 240, "strokes": [[[1, 2]]]}', 400, "stroke 0"),
    ("POST", "/api/recognize", b'{"width": -5, "height": 240, "strokes": [[[1, 2, 0, 1]]]}', 400, "width"),
    (
        "POST",
        "/api/recognize",
        b'{"width": 800, "height": 240, "strokes": [[[5, 5, 0, 1]]]}',
        400,
        "no extent",
    ),
    ("POST", "/api/dataset/..%2F..%2Fevil", b'{"label": "x"}', 404, "Not Found"),  # no such route
    ("POST", "/api/dataset/..", b'{"label": "x"}', 400, "writer name"),
    ("POST", "/api/dataset/.hidden", b'{"label": "x"}', 400, "writer name"),
    ("POST", "/api/dataset/alice", b'{"label": "", "drawing": {}}', 400, "label is empty"),
    ("DELETE", "/api/dataset/alice/notanid", None, 400, "sample id"),
    ("POST", "/api/robot", b'{"id": "feedbeef"}', 404, "no written phrase"),
    ("GET", "/api/robot/feedbeef", None, 404, "no robot job"),
    ("GET", "/static/../trajtok/studio/app.py", None, 404, "Not Found"),
    ("GET", "/static/%2e%2e/app.py", None, 404, "Not Found"),
    ("GET", "/api/results/x.exe", None, 404, "no written phrase"),
    ("PUT", "/api/write", b"{}", 405, "Method Not Allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_goes_on(
    server, method, path, body, status, message
):
    got_status, got = server.request(method, path, body)
    assert got_status == status, got
    assert isinstance(got, dict) and message in got["error"], got
    assert health(server)["ok"]


def test_a_drawing_of_a_million_points_is_refused_unread(server):
    stroke = [[float(i % 800), 100.0, float(i), 0.5] for i in range(1_000_000)]
    body = json.dumps({"width": 800, "height": 240, "strokes": [stroke]}).encode()
    status, got = server.request("POST", "/api/recognize", body)
    assert status == 413 and "MiB" in got["error"], got
    small = json.dumps({"width": 800, "height": 240, "strokes": [stroke[:30_000]]}).encode()
    status, got = server.request("POST", "/api/recognize", small)
    assert status == 413 and "30000 points" in got["error"], got
    assert server.post("/api/recognize", pad_drawing(word_strokes("river")))[0] == 200


def test_nothing_outside_the_data_dir_is_written_for_a_traversing_name(server):
    drawing = json.dumps({"label": "x", "drawing": pad_drawing(word_strokes("x"))}).encode()
    for name in ("../outside", "..", "a/../../outside", "/tmp/outside"):
        status, _ = server.request("POST", "/api/dataset/" + urllib.parse.quote(name, safe=""), drawing)
        assert 400 <= status < 500
    assert (
        not (server.data_dir.parent / "outside.json").exists() and not (server.data_dir / "..json").exists()
    )


def leave_mid_stream(server, n: int) -> dict:
    """n clients that go away after their first ink; the health once no generation thread is left."""
    for _ in range(n):
        conn, response = server.open_write({"text": LONG_PHRASE, "temperature": 1.0, "seed": 1})
        stream = events(response)
        assert next(stream)[0] == "start" and next(stream)[0] == "ink"
        conn.close()
    deadline = time.monotonic() + 20
    while (now := health(server))["write_threads"] and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def test_a_client_that_leaves_mid_stream_stops_its_generation_without_leaking(server):
    leave_mid_stream(server, 10)  # the first long phrases allocate what every later one reuses
    before, rss_before = health(server), server.rss_kib()
    now = leave_mid_stream(server, 40)
    rss_after = server.rss_kib()
    threads = f"{before['threads']} -> {now['threads']}"
    print(f"threads {threads}, RSS {rss_before} -> {rss_after} KiB after 40 more leavers")
    assert now["write_threads"] == 0 and now["writing"] == 0
    assert now["stopped_early"] - before["stopped_early"] == 40
    assert now["threads"] <= before["threads"]
    assert rss_after - rss_before < 24 * 1024  # 40 leaked generations would hold 60 MB of KV cache


def test_a_long_phrase_does_not_block_another_client(server):
    times: list[float] = []
    conn, response = server.open_write({"text": LONG_PHRASE, "temperature": 1.0, "seed": 3})
    assert response.status == 200

    def read_all():
        for name, _ in events(response):
            times.append(time.monotonic())
            if name == "end":
                return

    reader = threading.Thread(target=read_all)
    reader.start()
    try:
        while len(times) < 3:
            time.sleep(0.01)
        started = time.monotonic()
        status, page = server.get("/")
        assert status == 200 and b"trajtok studio" in page
        page_s = time.monotonic() - started
        # longer than the pause the running phrase makes for another's first step (FirstStepsFirst,
        # at most 0.1 s): "hi" is written within that pause, and the long stream has nothing to show then
        other = write(server, text="four short words here")
        other_done = time.monotonic()
        assert other[-1][0] == "end"
        long_running = reader.is_alive()
    finally:
        reader.join(timeout=60)
        conn.close()
    print(f"page loaded in {page_s * 1000:.0f} ms, the other phrase written in {other_done - started:.2f} s")
    assert long_running, "the long phrase ended before the other client was served; make it longer"
    assert page_s < 2.0
    assert any(started <= t <= other_done for t in times), (
        "the long stream stalled while the other was served"
    )


def test_recognize_reads_a_drawn_word(server):
    status, reading = server.post("/api/recognize", pad_drawing(word_strokes("river", style=1)))
    assert status == 200 and reading["text"] == "river", reading
    assert 0 < reading["confidence"] <= 1


def test_dataset_save_list_delete_and_the_loaders_read_it(server, cli, tmp_path):
    saved = []
    for word in ("river", "quiet", "stones"):
        status, got = server.post(
            "/api/dataset/alice", {"label": word, "drawing": pad_drawing(word_strokes(word))}
        )
        assert status == 201, got
        saved.append(got["id"])
    listing = {w["name"]: w for w in server.get("/api/dataset")[1]["writers"]}
    assert [s["label"] for s in listing["alice"]["samples"]] == ["river", "quiet", "stones"]
    picture = listing["alice"]["samples"][0]["thumbnail"]  # the ink as the loader reads it, one unit high
    ink = np.concatenate([np.asarray(stroke) for stroke in picture["strokes"]])
    assert len(picture["strokes"]) == len(word_strokes("river"))
    assert ink.min(axis=0).tolist() == [0, 0] and ink[:, 1].max() == 1
    assert ink[:, 0].max() == picture["width"] > 1  # a word is wider than it is high
    assert server.request("DELETE", f"/api/dataset/alice/{saved[1]}")[0] == 200
    assert server.request("DELETE", f"/api/dataset/alice/{saved[1]}")[0] == 404

    path = server.data_dir / "alice.json"
    assert sorted(p.name for p in server.data_dir.iterdir()) == ["alice.json"]  # no temporary file left
    samples = load_source(str(path), split="all")
    assert [s.text for s in samples] == ["river", "stones"]
    whole_folder = load_source(str(server.data_dir), split="all", use_cache=False)  # every writer's file
    assert sorted(s.text for s in whole_folder) == ["river", "stones"]
    run = cli("data", "show", path, "--split", "all", "--out", tmp_path / "grid.png")
    assert run.code == 0, run.err
    assert (tmp_path / "grid.png").stat().st_size > 1000

    # write like me: the saved samples are the prime, their labels before the phrase in what the model reads
    got = write(server, text="hello", style="mine", writer="alice")
    assert got[-1][0] == "end", got[-1]
    attention = server.get(f"/api/results/{got[-1][1]['id']}/attention")[1]
    assert attention["text"] == "river stones hello"
    corpus = write(server, text="hello", style="cursive")
    assert corpus[-1][0] == "end"


@pytest.mark.slow
def test_the_robot_writes_the_phrase_on_the_whiteboard(server):
    end = write(server, text="hi")[-1][1]
    status, job = server.post("/api/robot", {"id": end["id"]})
    assert status == 202 and job["state"] == "running"
    assert server.post("/api/robot", {"id": end["id"]})[0] == 409  # one at a time
    progress, deadline = [], time.monotonic() + 240
    while job["state"] == "running" and time.monotonic() < deadline:
        progress.append(job["progress"])
        time.sleep(0.3)
        job = server.get(f"/api/robot/{job['id']}")[1]
    assert job["state"] == "done", job
    assert progress == sorted(progress) and len(set(progress)) > 1  # it reported progress on the way
    metrics = job["metrics"]
    assert 0 <= metrics["tracking_rmse_mm"] < 5 and metrics["inked_fraction"] > 0.5, metrics
    status, board = server.get(job["board"])
    assert status == 200 and board.startswith(b"\x89PNG")


def test_a_page_from_another_host_name_is_refused(server):
    """Bound to loopback, the server answers only requests for this machine (no DNS rebinding)."""
    conn = server.connection()
    try:
        conn.request("GET", "/api/info", headers={"Host": "attacker.example"})
        response = conn.getresponse()
        assert response.status == 400 and b"Invalid host header" in response.read()
    finally:
        conn.close()
    assert server.get("/api/info")[0] == 200
