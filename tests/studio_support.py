"""The real studio server for tests: `trajtok studio` in a subprocess on a free loopback port, a small HTTP
client for it (JSON and the Write event stream), and a real word's strokes laid out on the drawing pad."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from trajtok.data.hershey import synthesize
from trajtok.strokes import integrate, split_strokes

PAD_SIZE = (800, 240)  # the page's drawing pad, canvas pixels
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StudioServer:
    """`trajtok studio --data DIR` on 127.0.0.1:<free port>, until stop()."""

    def __init__(self, data_dir: Path, log_path: Path, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        command = [
            sys.executable,
            "-m",
            "trajtok",
            "studio",
            "--port",
            str(self.port),
            "--data",
            str(data_dir),
        ]
        self.process = subprocess.Popen(
            [*command, *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if self.get("/api/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"trajtok studio did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def connection(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict | bytes]:
        conn = self.connection()
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type", "")
            return response.status, json.loads(data) if kind.startswith("application/json") else data
        finally:
            conn.close()

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, value) -> tuple[int, dict | bytes]:
        return self.request("POST", path, json.dumps(value).encode())

    def open_write(self, settings: dict) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Start a Write stream; read it with `events(response)`."""
        conn = self.connection()
        conn.request(
            "POST", "/api/write", body=json.dumps(settings), headers={"Content-Type": "application/json"}
        )
        return conn, conn.getresponse()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def events(response: http.client.HTTPResponse):
    """(name, data) per server-sent event, as they arrive."""
    name = None
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def word_strokes(word: str, style: int = 0, seed: int = 0, size=PAD_SIZE) -> list[np.ndarray]:
    """A real word's strokes (the synthetic corpus' writer `style`) in pad pixels, y down: (N_i, 2) each."""
    sample = synthesize(word, style, seed)
    strokes = split_strokes(integrate(sample.deltas, sample.events[:, 0]))
    xy = np.concatenate(strokes)
    low, high = xy.min(axis=0), xy.max(axis=0)
    scale = min((size[0] - 80) / (high[0] - low[0]), (size[1] - 80) / (high[1] - low[1]))
    return [
        np.stack([40 + (s[:, 0] - low[0]) * scale, size[1] - 40 - (s[:, 1] - low[1]) * scale], 1)
        for s in strokes
    ]


def pad_drawing(strokes: list[np.ndarray], size=PAD_SIZE) -> dict:
    """What the page sends for these strokes: [x, y, t_ms, pressure] per point, 8 ms apart."""
    rows, t = [], 0.0
    for stroke in strokes:
        row = []
        for x, y in stroke.tolist():
            row.append([x, y, t, 0.5])
            t += 8.0
        rows.append(row)
    return {"width": size[0], "height": size[1], "strokes": rows}
