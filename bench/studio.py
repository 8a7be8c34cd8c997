"""trajtok studio's latency and throughput through the real server (`trajtok studio` in a subprocess on a
free loopback port, the shipped models), each against the library alone measured in the same run.

Usage: nice -n 5 .venv/bin/python bench/studio.py [--requests 30] [--clients 10]

- first stroke: request sent -> the first ink event (points to draw) read by the client; p50 / p95 over
  `--requests` phrases one after another, then p95 with `--clients` clients writing at once (each its share
  of the requests); baseline: `Writer.stream`'s first step in this process
- stream ratio: steps/s of a long phrase through the server (request -> end event) over `Writer.stream`
  alone (same phrase, seed and steps), median of 5 each
- recognize: pen lift -> reading received: POST /api/recognize of a drawn word (pad pixels), median over
  30 words of the corpus; baseline: the recognizer alone on the same samples
Targets: first stroke <= 150 ms (p50 and p95), <= 2x that with 10 clients; stream ratio >= 0.9; recognize
<= 100 ms. The load average is printed: the machine is shared. Last line: JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from trajtok.data.hershey import synthesize
from trajtok.generate import Writer
from trajtok.recognize import Recognizer
from trajtok.sampling import Sampling
from trajtok.strokes import integrate, split_strokes
from trajtok.studio.drawing import Drawing

PHRASE = "hello world"
LONG_PHRASE = "the quick brown fox jumps over the lazy dog"
WORDS = ("river", "quiet", "stones", "minimum", "hello", "world")
PAD = (800, 240)


class Server:
    def __init__(self, data_dir: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [sys.executable, "-m", "trajtok", "studio", "--port", str(self.port), "--data", data_dir]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while not self._up():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("trajtok studio did not start")
            time.sleep(0.2)

    def _up(self) -> bool:
        try:
            return self.post("/api/recognize", {})[0] == 400
        except OSError:
            return False

    def post(self, path: str, value: dict) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("POST", path, json.dumps(value), {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def write(self, text: str, seed: int) -> tuple[float, float, int]:
        """(ms to the first ink, s to the end event, steps) of one phrase."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        started = time.perf_counter()
        first_ms, name = None, None
        try:
            body = json.dumps({"text": text, "temperature": 0.5, "seed": seed})
            conn.request("POST", "/api/write", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            for raw in response:
                line = raw.decode()
                if line.startswith("event: "):
                    name = line[7:].strip()
                elif line.startswith("data: ") and name == "ink" and first_ms is None:
                    first_ms = (time.perf_counter() - started) * 1000
                elif line.startswith("data: ") and name == "end":
                    return first_ms, time.perf_counter() - started, json.loads(line[6:])["steps"]
        finally:
            conn.close()
        raise RuntimeError(f"the stream of {text!r} ended without an end event")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q))


def library_first_step_ms(writer: Writer, n: int) -> list[float]:
    times = []
    for seed in range(n):
        started = time.perf_counter()
        steps = writer.stream(PHRASE, Sampling(temperature=0.5, seed=seed))
        next(steps)
        times.append((time.perf_counter() - started) * 1000)
        steps.close()
    return times


def library_stream(writer: Writer, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    n = sum(1 for _ in writer.stream(LONG_PHRASE, Sampling(temperature=0.5, seed=seed)))
    return time.perf_counter() - started, n


def drawn(word: str, style: int) -> dict:
    """A corpus word's strokes as the pad sends them: pixels, y down, 8 ms apart."""
    sample = synthesize(word, style, 0)
    strokes = split_strokes(integrate(sample.deltas, sample.events[:, 0]))
    xy = np.concatenate(strokes)
    low, span = xy.min(axis=0), np.ptp(xy, axis=0)
    scale = min((PAD[0] - 80) / span[0], (PAD[1] - 80) / span[1])
    rows, t = [], 0.0
    for s in strokes:
        px = np.stack([40 + (s[:, 0] - low[0]) * scale, PAD[1] - 40 - (s[:, 1] - low[1]) * scale], 1)
        rows.append([[x, y, t + 8.0 * i, 0.5] for i, (x, y) in enumerate(px.tolist())])
        t += 8.0 * len(px)
    return {"width": PAD[0], "height": PAD[1], "strokes": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the server runs
    writer, recognizer = Writer.from_checkpoint(), Recognizer.from_checkpoint()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at the start")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="trajtok-bench-studio-") as data_dir:
        server = Server(data_dir)
        try:
            server.write("warm up", 0)
            library_first_step_ms(writer, 3)

            firsts = [server.write(PHRASE, seed)[0] for seed in range(args.requests)]
            alone = library_first_step_ms(writer, args.requests)
            figures["first_stroke_ms_p50"] = round(percentile(firsts, 50), 1)
            figures["first_stroke_ms_p95"] = round(percentile(firsts, 95), 1)
            print(
                f"first stroke, {args.requests} requests one at a time: p50 {figures['first_stroke_ms_p50']} "
                f"ms, p95 {figures['first_stroke_ms_p95']} ms (Writer.stream's first step alone: p50 "
                f"{percentile(alone, 50):.1f} ms, p95 {percentile(alone, 95):.1f} ms)"
            )

            together: list[float] = []
            lock = threading.Lock()

            def client(k: int) -> None:
                for seed in range(k, args.requests, args.clients):
                    ms = server.write(PHRASE, 1000 + seed)[0]
                    with lock:
                        together.append(ms)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            figures["first_stroke_ms_p95_10_clients"] = round(percentile(together, 95), 1)
            ratio = figures["first_stroke_ms_p95_10_clients"] / figures["first_stroke_ms_p95"]
            print(
                f"first stroke, {args.clients} clients at once ({len(together)} requests): p50 "
                f"{percentile(together, 50):.1f} ms, p95 {figures['first_stroke_ms_p95_10_clients']} ms "
                f"({ratio:.2f}x the one-client p95)"
            )

            served, library = [], []
            for seed in range(5):
                _, seconds, steps = server.write(LONG_PHRASE, seed)
                alone_s, alone_steps = library_stream(writer, seed)
                if steps != alone_steps:
                    raise SystemExit(f"seed {seed}: {steps} steps through the server, {alone_steps} alone")
                served.append(steps / seconds)
                library.append(alone_steps / alone_s)
            figures["stream_ratio"] = round(statistics.median(served) / statistics.median(library), 3)
            print(
                f"stream, {LONG_PHRASE!r}: {statistics.median(served):.0f} steps/s through the server, "
                f"{statistics.median(library):.0f} steps/s Writer.stream alone: "
                f"ratio {figures['stream_ratio']}"
            )

            bodies = [drawn(w, style) for style in range(5) for w in WORDS][:30]
            served_ms, alone_ms, reads = [], [], []
            for body in bodies:
                started = time.perf_counter()
                status, reply = server.post("/api/recognize", body)
                served_ms.append((time.perf_counter() - started) * 1000)
                assert status == 200, reply
                reads.append(json.loads(reply)["text"])
                sample = Drawing.parse(body).sample()
                started = time.perf_counter()
                recognizer.recognize([sample])
                alone_ms.append((time.perf_counter() - started) * 1000)
            right = sum(r == w for r, w in zip(reads, [w for _ in range(5) for w in WORDS], strict=False))
            figures["recognize_ms"] = round(statistics.median(served_ms), 1)
            print(
                f"recognize, {len(bodies)} drawn words: median {figures['recognize_ms']} ms, p95 "
                f"{percentile(served_ms, 95):.1f} ms pen lift -> reading (recognizer alone: median "
                f"{statistics.median(alone_ms):.1f} ms); {right}/{len(bodies)} read right"
            )
        finally:
            server.stop()
        assert not any(Path(data_dir).iterdir()), "the bench wrote into the dataset folder"
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
