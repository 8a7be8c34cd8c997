"""Pictures: how every figure is titled and saved (trajtok/plot.py)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from trajtok import plot
from trajtok.plot import save_figure
from trajtok.sample import Sample
from trajtok.tokenizer import TrajectoryTokenizer


@pytest.mark.parametrize("height_in, title", [(3.0, "short"), (83.0, "one line"), (40.0, "two\nlines")])
def test_the_title_sits_above_every_plot_however_tall_the_figure(tmp_path, height_in, title):
    """A 26-dim tokenizer's bin picture is 83 inches tall: its title went inside the first row of plots."""
    fig = Figure(figsize=(9.0, height_in), dpi=50)
    rows = max(1, min(6, int(height_in // 3)))
    for ax in fig.subplots(rows, 2).flat:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a panel")
    path = save_figure(fig, tmp_path / "tall.png", title)
    assert path.exists()
    renderer = FigureCanvasAgg(fig).get_renderer()
    title_bottom = fig.texts[0].get_window_extent(renderer).y0
    plots_top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes)
    assert title_bottom > plots_top
    assert fig.texts[0].get_window_extent(renderer).y1 <= fig.bbox.y1  # and on the page


def test_bin_histogram_tick_labels_do_not_print_over_each_other(tmp_path, monkeypatch):
    """Mouse-traced steps are whole pixels (0, +-0.04, +-0.08 here): the asinh axis's linear part is as wide
    as the median step, and its decade ticks at +-0.01 printed over 0 and each other (bigbank's `trajtok
    data stats --out`)."""
    rng = np.random.default_rng(0)
    steps = np.where(rng.random((5000, 2)) < 0.3, 0.0, rng.choice([-0.04, 0.04, -0.08, 0.08], (5000, 2)))
    steps[:200] = rng.normal(scale=1.0, size=(200, 2))  # pen-up travel: the rare large moves
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_up",), n_bins=24).fit([steps])
    figures = []
    monkeypatch.setattr(
        plot, "save_figure", lambda fig, path, title="": figures.append(fig) or save_figure(fig, path, title)
    )
    plot.plot_bin_histograms(tokenizer, steps, tmp_path / "bins.png")
    (fig,) = figures
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax in fig.axes[::2]:  # the histograms (the bin counts beside them are linear)
        labels = sorted(
            (t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()), key=lambda b: b.x0
        )
        assert len(labels) >= 3
        names = [t.get_text() for t in ax.get_xticklabels()]
        assert all(left.x1 < right.x0 for left, right in zip(labels, labels[1:], strict=False)), names


@pytest.mark.parametrize(
    "dims, events, view",
    [(("dx", "dy"), ("pen_up",), "above"), (("dx", "dy", "dz"), ("gripper",), "steps")],
)
def test_round_trip_pictures_show_pen_data_from_above_and_an_arm_per_dim(
    tmp_path, monkeypatch, dims, events, view
):
    """An arm's dx, dy, dz were drawn from above like pen strokes: its z and its gripper were not shown."""
    rng = np.random.default_rng(0)
    deltas = rng.normal(scale=0.01, size=(40, len(dims))).astype(np.float32)
    closed = np.zeros((40, 1), bool)
    closed[10:25] = True
    sample = Sample(deltas, closed, text="pick the cube")
    figures = []
    monkeypatch.setattr(
        plot, "save_figure", lambda fig, path, title="": figures.append(fig) or save_figure(fig, path, title)
    )
    plot.plot_reconstruction([sample], [deltas * 1.01], dims, tmp_path / "round.png", event_names=events)
    (ax,) = figures[0].axes
    if view == "above":
        assert ax.get_aspect() == 1.0 and ax.get_xlabel() == "grey: true, blue: decoded"
    else:
        assert ax.get_xlabel().startswith("step")
        names = [t.get_text() for t in ax.get_legend().get_texts()]
        assert names == [*dims, "gripper on"]  # every dim, and where the gripper is closed


def test_pick_episodes_share_one_extent_and_as_many_columns_as_scenes(tmp_path, monkeypatch):
    """Three scenes took three of five columns, each panel at the scale of its own path."""
    rng = np.random.default_rng(0)
    paths = [
        np.cumsum(rng.normal(scale=0.01 * (k + 1), size=(30, 3)), axis=0) + (0.5, 0, 0.2) for k in range(3)
    ]
    figures = []
    monkeypatch.setattr(
        plot, "save_figure", lambda fig, path, title="": figures.append(fig) or save_figure(fig, path, title)
    )
    cube, tray = np.full((3, 2), (0.6, -0.1)), np.full((3, 2), (0.45, 0.2))
    plot.plot_pick_episodes(
        paths, paths, cube, cube, tray, 0.08, np.array([True, False, True]), tmp_path / "p.png"
    )
    axes = figures[0].axes
    assert len(axes) == 3
    assert len({(ax.get_xlim(), ax.get_ylim()) for ax in axes}) == 1
    (x0, x1), y1 = axes[0].get_xlim(), axes[0].get_ylim()[1]
    assert x0 < 0.37 and x1 > 0.6 and y1 > 0.28  # every path, the cube and the whole tray inside


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".png"])
def test_the_same_ink_gives_the_same_bytes(tmp_path, suffix):
    """SVG and PDF carried the time they were written, and SVG's ids were salted at random each save."""
    t = np.linspace(0, 6, 60)
    points = np.stack([t, np.sin(t), (np.arange(60) % 20 == 19).astype(float)], axis=1)
    first, second = (plot.render_ink(points, tmp_path / f"{name}{suffix}") for name in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()
