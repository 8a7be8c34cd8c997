"""The README's Python blocks run as written: a user copies them first."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line of the block's first code line, code) for each ```python block, in order."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def test_readme_has_its_python_blocks():
    lines = [line for line, _ in python_blocks(README.read_text())]
    assert len(lines) >= 4, lines  # From Python, the tokenizer, chunk schemes, the recognizer


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch, one_torch_thread):
    """One namespace, as a reader running them in one session; a failure names the README line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    namespace: dict = {"__name__": "readme"}
    for line, code in python_blocks(README.read_text()):
        try:
            exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"README.md block at line {line}: {type(exc).__name__}: {exc}")
    assert (tmp_path / "hello.png").stat().st_size > 0
    assert (tmp_path / "board.json").is_file()
    assert namespace["styled"].text == "new words" and len(namespace["styled"]) > 0
    assert [r.text for r in namespace["readings"]] and namespace["tokens"].ndim == 2
