"""Pictures: how every figure is titled and saved (trajtok/plot.py)."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from trajtok.plot import _save


@pytest.mark.parametrize("height_in, title", [(3.0, "short"), (83.0, "one line"), (40.0, "two\nlines")])
def test_the_title_sits_above_every_plot_however_tall_the_figure(tmp_path, height_in, title):
    """A 26-dim tokenizer's bin picture is 83 inches tall: its title went inside the first row of plots."""
    fig = Figure(figsize=(9.0, height_in), dpi=50)
    rows = max(1, min(6, int(height_in // 3)))
    for ax in fig.subplots(rows, 2).flat:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a panel")
    path = _save(fig, tmp_path / "tall.png", title)
    assert path.exists()
    renderer = FigureCanvasAgg(fig).get_renderer()
    title_bottom = fig.texts[0].get_window_extent(renderer).y0
    plots_top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes)
    assert title_bottom > plots_top
    assert fig.texts[0].get_window_extent(renderer).y1 <= fig.bbox.y1  # and on the page
