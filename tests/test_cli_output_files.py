"""Every file or folder a command writes is checked when its options are read: a name it cannot write is one
line and exit 2 before any work (fitting, generating, simulating), not a failure at the end."""

from pathlib import Path

import pytest

# (command, option), the argument list each check appends its path to
FILE_OPTIONS = [
    ["tokenizer", "fit", "hershey", "--out"],
    ["tokenizer", "stats", "tok.json", "hershey", "--png"],
    ["write", "hi", "--out"],
    ["write", "hi", "--attention"],
    ["write", "hi", "--gcode"],
    ["write", "hi", "--plot-svg"],
    ["sim", "write", "hi", "--out"],
    ["sim", "pick", "--out"],
    ["data", "show", "hershey", "--out"],
    ["data", "stats", "hershey", "--out"],
]


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("a file, not a folder\n")
    return path


@pytest.mark.parametrize("argv", FILE_OPTIONS, ids=lambda argv: " ".join(argv[:2] + argv[-1:]))
def test_a_file_under_a_file_is_refused_at_once(argv, a_file, cli):
    cli(*argv, a_file / "out.png").user_error(argv[-1], "notes.txt' is a file, not a folder")


@pytest.mark.parametrize("argv", FILE_OPTIONS, ids=lambda argv: " ".join(argv[:2] + argv[-1:]))
def test_a_folder_that_takes_no_files_is_refused_at_once(argv, cli):
    # /proc refuses new files even to root, for whom permission bits say nothing
    cli(*argv, "/proc/trajtok/out.png").user_error(argv[-1], "no file can be made in '/proc'")


def test_a_folder_is_not_a_file_name(tmp_path, cli):
    cli("tokenizer", "fit", "hershey", "--out", tmp_path).user_error("is a folder: name a file to write")


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "make-gripper", "--episodes", "1", "--out"],
        ["train", "handwriting", "steps=1", "--run-dir"],
        ["train", "handwriting", "--resume"],  # its checkpoints would fail at the first save
        ["studio", "--port", "0", "--data"],  # the page's drawings would be lost at the first save
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[-1:]),
)
def test_a_folder_to_write_in_is_checked_at_once(argv, a_file, cli):
    cli(*argv, a_file).user_error(argv[-1], "notes.txt' is a file: name a folder to write in")
    cli(*argv, "/proc/trajtok").user_error(argv[-1], "no file can be made in '/proc'")


def test_missing_folders_are_made(tmp_path, cli):
    out = tmp_path / "new" / "deeper" / "tok.json"
    run = cli("tokenizer", "fit", "hershey", "--n", "20", "--out", out)
    assert run.code == 0 and out.is_file()
    assert not list(out.parent.glob(".*")), "no temporary file is left behind"
