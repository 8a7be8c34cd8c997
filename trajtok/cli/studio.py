"""`trajtok studio`: a local web page to watch the model write, draw and have it read, build a dataset of
your own handwriting, write in it, and send a phrase to the simulated robot."""

from __future__ import annotations

import argparse
import ipaddress
import socket

from trajtok.cli.output_files import output_folder

HELP = """Serve trajtok studio, one page at http://HOST:PORT/ (works offline: no CDN).

  Write        type a phrase: the model's strokes appear as they are generated (temperature, seed, style:
               a writer of the synthetic corpus or "mine", speed); the attention heatmap on request;
               download as PNG, SVG, NPZ (the files `trajtok write` makes)
  Draw, read   draw with mouse, pen or touch: the recognizer reads it at each pen lift
  Dataset      save drawings with their labels into --data DIR, one cursive-transformer JSON file per
               writer (DIR/<writer>.json, what `trajtok data show` and `trajtok train handwriting
               data.source=DIR/<writer>.json` read); list and delete
  Robot        a simulated Panda writes the phrase on the PyBullet whiteboard: the board and its metrics

It listens on 127.0.0.1 unless --host says otherwise, writes only into --data DIR, and serves only its page.
"""
# Generation threads drop the GIL inside every torch op and take it back after; with a busy thread holding it
# the default 5 ms switch interval would delay each of a new phrase's first-step ops that long.
SWITCH_INTERVAL_S = 0.001


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "studio",
        help="a local web page: write, draw and read, your dataset, your hand, the robot",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--checkpoint", metavar="RUN", help="handwriting model run or .pt (default: the shipped one)"
    )
    p.add_argument("--recognizer", metavar="RUN", help="recognizer run or .pt (default: the shipped one)")
    p.add_argument(
        "--data",
        type=output_folder,
        metavar="DIR",
        default="out/studio-data",
        help="your dataset (default: %(default)s)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import torch
    import uvicorn

    from trajtok.generate import Writer
    from trajtok.recognize import Recognizer
    from trajtok.studio.app import Studio, create_app
    from trajtok.studio.dataset import Dataset
    from trajtok.studio.robot import RobotJobs

    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be 1..65535, got {args.port}")
    torch.set_num_threads(1)  # one step at a time is fastest on one thread; clients share the cores
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with listen(args.host, args.port) as listening:  # before the models load: a taken port fails at once
        writer = Writer.from_checkpoint(args.checkpoint)
        recognizer = Recognizer.from_checkpoint(args.recognizer)
        studio = Studio(writer, recognizer, Dataset(args.data), RobotJobs(whiteboard()))
        loopback = is_loopback(args.host)
        if not loopback:
            print(
                f"trajtok: note: listening on {args.host}: anyone who can reach it can use the page",
                file=sys.stderr,
            )
        app = create_app(studio, loopback)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
        url = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}/"  # IPv6 in brackets
        print(f"trajtok studio: {url} (dataset: {studio.dataset.root}; Ctrl-C stops)")
        server.run(sockets=[listening])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening; a one-line error when that address cannot be had."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ValueError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another program may hold the port; "
            "give --port N (or a --host of this machine)"
        ) from None


def whiteboard():
    """The simulator's phrase writer, or None where PyBullet is not installed (the page then says so)."""
    try:
        from trajtok_sim.phrase_on_board import write_phrase
    except ImportError:
        return None
    return write_phrase


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
