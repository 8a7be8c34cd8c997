"""`trajtok data list | show | stats`: exit codes, messages and the PNGs they write."""

from pathlib import Path

import pytest

from trajtok.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "handwriting"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


def run(args, capsys):
    try:
        code = main(args)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_list_names_the_sources(capsys):
    code, out, _ = run(["data", "list"], capsys)
    assert code == 0
    assert "hershey" in out and "bigbank" in out and "IAM-OnDB" in out


def test_show_writes_a_grid(tmp_path, capsys):
    out_png = tmp_path / "grid.png"
    code, out, _ = run(["data", "show", "hershey", "--n", "4", "--out", str(out_png)], capsys)
    assert code == 0 and is_png(out_png)
    assert "4 samples" in out


def test_stats_prints_figures_and_writes_histograms(tmp_path, capsys):
    out_png = tmp_path / "hist.png"
    code, out, _ = run(["data", "stats", "hershey", "--n", "40", "--out", str(out_png)], capsys)
    assert code == 0 and is_png(out_png)
    assert "points/char" in out and "samples       40" in out


def test_stats_and_show_read_files(tmp_path, capsys):
    code, out, _ = run(
        ["data", "stats", str(FIXTURES / "cursive" / "words.json.zip"), "--split", "all"], capsys
    )
    assert code == 0 and "'empty': 1" in out and "'é': 1" in out
    grid = tmp_path / "iam.png"
    code, _, _ = run(["data", "show", str(FIXTURES / "iam"), "--split", "all", "--out", str(grid)], capsys)
    assert code == 0 and is_png(grid)


@pytest.mark.parametrize(
    "args, message",
    [
        (["data", "show", "no/such/path.json", "--out", "x.png"], "data not found"),
        (["data", "show", "hershey", "--option", "nope=1", "--out", "x.png"], "unknown option"),
        (["data", "show", "hershey", "--option", "max_chars", "--out", "x.png"], "KEY=VALUE"),
        (["data", "stats", "hershey", "--split", "everything"], "unknown split"),
        (
            ["data", "stats", str(FIXTURES / "stroke3_bad" / "bad_shape.npz"), "--split", "all"],
            "bad_shape.npz",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(args, message, capsys):
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.startswith("trajtok: error:") and message in err and "Traceback" not in err
