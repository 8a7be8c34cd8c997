"""`trajtok data list | show | stats`: exit codes, messages and the PNGs they write."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "handwriting"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


def is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_list_names_the_sources(cli):
    run = cli("data", "list")
    assert run.code == 0
    assert "hershey" in run.out and "bigbank" in run.out and "IAM-OnDB" in run.out
    rows = [line for line in run.out.splitlines() if line[:4] in ("ok  ", "--  ")]
    assert len({len(line) - len(line[4:].split("  ", 1)[1].lstrip()) for line in rows}) == 1  # one column
    assert "trajtok data make-gripper" in run.out  # the command as it is spelled


def test_show_writes_a_grid(tmp_path, cli):
    out_png = tmp_path / "grid.png"
    run = cli("data", "show", "hershey", "--n", "4", "--out", str(out_png))
    assert run.code == 0 and is_png(out_png)
    assert "4 samples" in run.out


def test_stats_prints_figures_and_writes_histograms(tmp_path, cli):
    out_png = tmp_path / "hist.png"
    run = cli("data", "stats", "hershey", "--n", "40", "--out", str(out_png))
    assert run.code == 0 and is_png(out_png)
    assert "points/char" in run.out and "samples       40" in run.out


def test_stats_and_show_read_files(tmp_path, cli, cursive_bank):
    run = cli("data", "stats", str(cursive_bank / "words.json.zip"), "--split", "all")
    assert run.code == 0 and "'empty': 1" in run.out and "'é': 1" in run.out
    grid = tmp_path / "iam.png"
    run = cli("data", "show", str(FIXTURES / "iam"), "--split", "all", "--out", str(grid))
    assert run.code == 0 and is_png(grid)


@pytest.mark.parametrize(
    "args, message",
    [
        (["data", "show", "no/such/path.json", "--out", "x.png"], "data not found"),
        (["data", "show", "hershey", "--option", "nope=1", "--out", "x.png"], "unknown option"),
        (["data", "show", "hershey", "--option", "max_chars", "--out", "x.png"], "KEY=VALUE"),
        (["data", "stats", "hershey", "--split", "everything"], "unknown split"),
        (["data", "show", "hershey", "--out", "grid"], "'grid' is not a picture file name"),
        (["data", "stats", "hershey", "--out", "hist.txt"], "'hist.txt' is not a picture file name"),
        (
            ["data", "stats", str(FIXTURES / "stroke3_bad" / "bad_shape.npz"), "--split", "all"],
            "bad_shape.npz",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(args, message, cli):
    cli(*args).user_error(message)
