"""The README as a user copies from it: its Python blocks run as written, in order, and its `trajtok`
command lines are ones the command line takes (each parses; a training line's settings resolve), so a
renamed flag, config key or function cannot linger there."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from trajtok.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def fenced_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(README line of the block's first line, its text) of each ```language block, in order."""
    fence = re.compile(rf"^```{language}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in fence.finditer(text)]


def readme_commands(text: str) -> list[tuple[int, list[str]]]:
    """(README line, argv after `trajtok`) of each `trajtok ...` line of the bash blocks (also under
    torchrun), continuation lines joined and comments dropped."""
    commands = []
    for first, block in fenced_blocks(text, "bash"):
        joined = block.replace("\\\n", "  ")  # keeps each later line on its own number
        for offset, line in enumerate(joined.splitlines()):
            words = shlex.split(line, comments=True)
            if "trajtok" in words[:1] or words[:1] == ["torchrun"] and "trajtok" in words:
                commands.append((first + offset, words[words.index("trajtok") + 1 :]))
    return commands


COMMANDS = readme_commands(README.read_text())


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch, one_torch_thread):
    """One namespace, as a reader running them in one session; a failure names the README line."""
    blocks = fenced_blocks(README.read_text(), "python")
    assert len(blocks) >= 4  # From Python, the tokenizer, chunk schemes, the recognizer
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    namespace: dict = {"__name__": "readme"}
    for line, code in blocks:
        try:
            exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"README.md block at line {line}: {type(exc).__name__}: {exc}")
    assert (tmp_path / "hello.png").stat().st_size > 0
    assert (tmp_path / "board.json").is_file()
    assert namespace["styled"].text == "new words" and len(namespace["styled"]) > 0
    assert [r.text for r in namespace["readings"]] and namespace["tokens"].ndim == 2


def test_readme_names_commands_of_every_kind():
    assert {argv[0] for _, argv in COMMANDS} >= {"data", "tokenizer", "train", "write", "recognize", "sim"}


@pytest.mark.parametrize("line,argv", COMMANDS, ids=[f"README.md:{line}" for line, _ in COMMANDS])
def test_readme_command_is_taken(line, argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"README.md:{line}: trajtok {shlex.join(argv)}: refused: {err.getvalue()} ({exc})")
    if argv[0] == "train" and "--resume" not in argv:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main([*argv, "--print-config"])
            except SystemExit as exc:  # how the CLI ends on a refused setting
                code = exc.code
        assert code == 0, f"README.md:{line}: trajtok {shlex.join(argv)}: {err.getvalue()}"
