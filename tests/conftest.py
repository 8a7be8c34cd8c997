"""Fixtures shared across test modules."""

import contextlib
import io
from dataclasses import dataclass

import pytest
import torch

from trajtok.cli import main


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and the suite shares 2 cores with other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cursive_bank(tmp_path_factory):
    """A folder holding words.json.zip (a small cursive-transformer word bank) and truncated.json.zip."""
    from cursive_bank import write_word_bank

    return write_word_bank(tmp_path_factory.mktemp("cursive"))


@pytest.fixture(scope="session")
def ros_env(tmp_path_factory):
    """The workspace (scribble_interfaces, scribble_bridge), built with colcon once per run, and the
    environment to run its nodes; this process imports its interfaces too (the tests' action clients)."""
    import ros_support

    env = ros_support.build_workspace(tmp_path_factory.mktemp("ros_ws"))
    ros_support.use_workspace_here(env)
    return env


@pytest.fixture(scope="session")
def overfit_checkpoint(tmp_path_factory):
    """A tiny model overfit on the synthetic "hi" (seconds): whatever it is asked, it writes that sample."""
    import ros_support

    return ros_support.make_overfit_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", text="hi")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`trajtok studio` running (the shipped models, an empty dataset folder), for one test module."""
    from studio_support import StudioServer

    root = tmp_path_factory.mktemp("studio")
    studio = StudioServer(root / "data", root / "server.log")
    yield studio
    studio.stop()


@pytest.fixture(scope="session")
def word_bank_checkpoint(tmp_path_factory):
    """The shipped model's weights under a word bank's data config (lines stitched from single words)."""
    from word_bank_model import as_word_bank_model

    return as_word_bank_model(None, tmp_path_factory.mktemp("bank") / "bank.pt")


@pytest.fixture(scope="module")
def word_bank_server(word_bank_checkpoint, tmp_path_factory):
    """`trajtok studio --checkpoint` that word-bank model, for one test module."""
    from studio_support import StudioServer

    root = tmp_path_factory.mktemp("bank-studio")
    studio = StudioServer(root / "data", root / "server.log", "--checkpoint", str(word_bank_checkpoint))
    yield studio
    studio.stop()


@dataclass
class CliRun:
    """What one `trajtok ...` command did: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def __iter__(self):  # code, out, err = cli(...)
        return iter((self.code, self.out, self.err))

    @property
    def last_error(self) -> str:
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""

    def user_error(self, *fragments: str) -> str:
        """Assert a user error: exit 2, one error line holding every fragment, no traceback."""
        assert self.code == 2, (self.code, self.err)
        assert "Traceback" not in self.err and "error: " in self.last_error, self.err
        for fragment in fragments:
            assert fragment in self.last_error, self.last_error
        return self.last_error


@pytest.fixture(scope="session")
def cli():
    """The one way tests drive the command line: cli("data", "stats", PATH, ...) -> CliRun. It runs
    `trajtok.cli.main` in this process (what the `trajtok` executable runs), capturing its output."""

    def run(*args) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:
                code = exit_.code
        return CliRun(int(code or 0), out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def writer(ros_env, overfit_checkpoint, tmp_path):
    """A running writer node (the tiny model, quick moves) and a probe on a domain of their own."""
    import ros_support

    with ros_support.running_writer(ros_env, overfit_checkpoint, tmp_path) as running:
        yield running
