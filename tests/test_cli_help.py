"""The command line answers --help (and refuses a bad argument) without loading torch or scipy: `trajtok
--help` in 0.3-0.4 s instead of 2.7-3.6 s on an idle 2-core machine, a refused argument in 0.24 s instead
of 2.1 s."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "scipy", "pybullet", "matplotlib", "h5py", "pyarrow", "rclpy", "starlette")


def test_building_the_parser_loads_none_of_the_heavy_libraries():
    """Every command's parser, its choices and its defaults (the help prints them) come from light modules:
    trajtok.sampling, trajtok.model_config, the chunk tokenizer without scipy until it transforms."""
    code = "import json, sys; "
    code += "from trajtok.cli import build_parser; build_parser(); print(json.dumps([*sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(json.loads(done.stdout)) & set(HEAVY)


def test_help_and_a_refused_argument_answer_without_them():
    for argv in (["--help"], ["write", "--help"], ["train", "--help"], ["write", "hi", "--top-k", "0"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "trajtok", *argv], capture_output=True, text=True
        )
        assert done.returncode in (0, 2), done.stderr
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert not imported & set(HEAVY), (argv, sorted(imported & set(HEAVY)))
