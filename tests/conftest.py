"""Fixtures shared across test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and the suite shares 2 cores with other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def ros_env(tmp_path_factory):
    """The scribble_bridge workspace, built with colcon once per run, and the environment to run its nodes."""
    import ros_support

    return ros_support.build_workspace(tmp_path_factory.mktemp("ros_ws"))


@pytest.fixture(scope="session")
def overfit_checkpoint(tmp_path_factory):
    """A tiny model overfit on the synthetic "hi" (seconds): whatever it is asked, it writes that sample."""
    import ros_support

    return ros_support.make_overfit_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", text="hi")
