"""Pictures: matplotlib figures saved to files (Agg, no pyplot state), one function per kind of picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from trajtok.strokes import smooth_stroke, split_strokes
from trajtok.text import counted


def render_ink(points: np.ndarray, path: str | Path, **style) -> Path:
    """Draw absolute points (T, 3) [x, y, pen_lift] as black ink on white, like a page (`ink_figure`, which
    takes the `style` keywords); the format follows the suffix (.png, .svg, ...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figure(ink_figure(points, **style), path, facecolor="white")
    return path


def write_figure(fig: Figure, out, fmt: str | None = None, **savefig) -> None:
    """`fig.savefig` to a path or file object, the same bytes for the same figure: SVG and PDF would carry
    the time they were written, and SVG ids salted at random each run (matplotlib's defaults)."""
    fmt = (fmt or Path(out).suffix.lstrip(".") or "png").lower()
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with rc_context({"svg.hashsalt": "trajtok"}):
        fig.savefig(out, format=fmt, metadata=metadata, **savefig)


def ink_figure(
    points: np.ndarray,
    px_per_unit: float = 60.0,
    line_width: float = 2.0,
    margin: float = 0.4,
    max_px: int = 4000,
    smooth: bool = True,
) -> Figure:
    """Absolute points (T, 3) [x, y, pen_lift] as black ink on white: no axes or titles. Each stroke is drawn
    as the smooth curve through its points (`smooth=False`: the polyline).

    The image size follows the ink's extent in handwriting units (`px_per_unit` pixels per x-height, `margin`
    units around, at most `max_px` a side).
    """
    strokes = split_strokes(np.asarray(points, dtype=np.float32))
    xy = np.concatenate(strokes) if strokes else np.zeros((1, 2), np.float32)
    low, high = xy.min(axis=0) - margin, xy.max(axis=0) + margin
    size_units = np.maximum(high - low, 1e-3)
    scale = min(px_per_unit, max_px / size_units.max())  # pixels per unit
    dpi = 100
    fig = Figure(figsize=tuple(size_units * scale / dpi), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for stroke in strokes:
        style = "-" if len(stroke) > 1 else "."
        stroke = smooth_stroke(stroke) if smooth else stroke
        ax.plot(stroke[:, 0], stroke[:, 1], style, color="black", lw=line_width, ms=line_width * 1.5)
        ax.lines[-1].set_solid_capstyle("round")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal", adjustable="box")
    return fig


def plot_attention(
    attentions: np.ndarray | list[np.ndarray],
    texts: str | list[str],
    path: str | Path,
    titles: list[str] | None = None,
) -> Path:
    """Cross-attention heatmaps, stroke steps (rows) x characters (columns, labelled), one panel per phrase.

    attentions: one (T, L) array or a list of them; texts: the text each attends over (L characters; columns
    beyond the text, e.g. padding, are left unlabelled).
    """
    path = Path(path)
    if isinstance(attentions, np.ndarray) and attentions.ndim == 2:
        attentions, texts = [attentions], [texts]
    n = len(attentions)
    widest = max(a.shape[1] for a in attentions)
    fig = Figure(figsize=(min(3 + 0.28 * widest, 30), 3.2 * n), dpi=100)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for i, (ax, attention, text) in enumerate(zip(axes, attentions, texts, strict=True)):
        image = ax.imshow(attention, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0)
        labels = [("\u2423" if ch == " " else ch) for ch in text][: attention.shape[1]]
        ax.set_xticks(range(attention.shape[1]), labels + [""] * (attention.shape[1] - len(labels)))
        ax.set_ylabel("stroke step")
        ax.set_title(titles[i] if titles else repr(text), fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    axes[-1].set_xlabel("character")
    return save_figure(fig, path)


TICK_CLEARANCE = 2.0  # in linear widths: the nearest a tick other than 0 may be to 0 on an asinh axis


def plot_bin_histograms(
    tokenizer, deltas: np.ndarray | list[np.ndarray], path: str | Path, title: str = ""
) -> Path:
    """One row per dim of a fitted TrajectoryTokenizer: the data's histogram (log counts over an asinh x axis,
    so the rare large moves show beside the many small ones) with the bin edges (grey lines) and each bin's
    decoded value (red marks) overlaid, and beside it how many values fall into each bin.

    deltas: (N, D) values or a list of (T, D) trajectories.
    """
    path = Path(path)
    values = deltas if isinstance(deltas, np.ndarray) and deltas.ndim == 2 else np.concatenate(list(deltas))
    n_dims = len(tokenizer.dim_names)
    fig = Figure(figsize=(13, 3.2 * n_dims), dpi=100)
    axes = fig.subplots(n_dims, 2, squeeze=False, gridspec_kw={"width_ratios": (3, 1)})
    for j, (name, bins) in enumerate(zip(tokenizer.dim_names, tokenizer.bins, strict=True)):
        x = values[:, j]
        low, high = float(min(x.min(), bins.edges[0])), float(max(x.max(), bins.edges[-1]))
        high = max(high, low + 1e-6)
        linear_width = max(float(np.median(np.abs(x))), 1e-3 * (high - low))
        grid = np.sinh(np.linspace(np.arcsinh(low / linear_width), np.arcsinh(high / linear_width), 161))
        ax = axes[j, 0]
        ax.hist(x, bins=grid * linear_width, color="tab:blue", alpha=0.7)
        ax.set_xscale("asinh", linear_width=linear_width)
        # asinh stretches the linear part: a decade tick there would print over 0 and its mirror
        ax.set_xticks([t for t in ax.get_xticks() if t == 0 or abs(t) >= TICK_CLEARANCE * linear_width])
        ax.set_yscale("log")
        for edge in bins.edges:
            ax.axvline(edge, color="0.35", lw=0.7)
        ax.plot(bins.values, np.ones(len(bins.values)), "v", color="tab:red", ms=5,
                transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        ax.set_xlabel(f"{name} (grey: bin edges, red: decoded values)")
        ax.set_ylabel("values")
        counts = np.bincount(bins.index(x), minlength=bins.n_bins)
        ax = axes[j, 1]
        ax.bar(np.arange(bins.n_bins), counts, color="tab:blue", alpha=0.7)
        ax.axhline(len(x) / bins.n_bins, color="tab:red", lw=0.8, ls="--")
        ax.set_xlabel(f"{name} bin (dashed: equal share)")
        ax.set_ylabel("values")
    return save_figure(fig, path, title)


def plot_reconstruction(
    originals: list,
    decoded: list[np.ndarray],
    dim_names: tuple[str, ...],
    path: str | Path,
    title: str = "",
    event_names: tuple[str, ...] = (),
) -> Path:
    """What a tokenizer's round trip does to a few trajectories, one panel each: the true path (grey) and the
    decoded one (blue), integrated from the start. Pen data (dims dx, dy alone): seen from above, one line
    per pen-down stroke when the first event is a pen lift; any other dims (an arm's dx, dy, dz, joints):
    the first six against the step (true solid, decoded dashed), the steps where the first event is on
    shaded (a gripper closed).

    originals: Sample objects (deltas (T, D), events (T, E)); decoded: their decoded (T, D) deltas.
    """
    planar = tuple(dim_names) == ("dx", "dy")
    fig = Figure(figsize=(9.0, 2.4 * max(1, len(originals))), dpi=100)
    axes = fig.subplots(max(1, len(originals)), 1, squeeze=False)[:, 0]
    for ax, sample, back in zip(axes, originals, decoded, strict=True):
        true, back = np.cumsum(sample.deltas, axis=0), np.cumsum(back, axis=0)
        if planar:
            lifts = sample.events[:, :1] if sample.events.shape[1] else np.zeros((len(true), 1))
            for points, style in (
                (true, {"color": "0.6", "lw": 2.5}),
                (back, {"color": "tab:blue", "lw": 0.9}),
            ):
                for stroke in split_strokes(np.concatenate([points[:, :2], lifts], axis=1)):
                    ax.plot(stroke[:, 0], stroke[:, 1], **style)
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_xlabel("grey: true, blue: decoded", fontsize=7)
        else:
            for j, name in enumerate(dim_names[:6]):
                (line,) = ax.plot(true[:, j], lw=1.2, label=name)
                ax.plot(back[:, j], "--", lw=0.9, color=line.get_color())
            if event_names and sample.events.shape[1]:
                on = sample.events[:, 0].astype(bool)
                ax.fill_between(np.arange(len(on)), 0, 1, where=on, step="mid", color="0.85", zorder=0,
                                transform=ax.get_xaxis_transform(), label=f"{event_names[0]} on")  # fmt: skip
            ax.set_xlabel("step (solid: true, dashed: decoded)", fontsize=7)
            ax.legend(fontsize=6, loc="best", ncol=2)
        end_error = float(np.linalg.norm(true[-1] - back[-1]))
        ax.set_title(f"{sample.text!r}: {len(true)} steps, end point off by {end_error:.3g}", fontsize=8)
        ax.tick_params(labelsize=6)
    return save_figure(fig, Path(path), title)


def plot_sample_grid(samples: list, path: str | Path, columns: int = 2, title: str = "") -> Path:
    """Handwriting samples in a grid, each titled with its text (and style id): pen-down strokes in ink (the
    smooth curve through their points) with the sampled points as small dots, pen-up travel as faint dashed
    lines, all at one scale (x-heights).

    samples: trajtok.sample.Sample objects with deltas (T, 2) and events (T, 1) pen_lift.
    """
    from trajtok.strokes import integrate

    path = Path(path)
    points = [integrate(s.deltas, s.events[:, 0]) for s in samples]
    spans = [np.ptp(p[:, :2], axis=0) if len(p) else np.ones(2) for p in points]
    width = max([s[0] for s in spans] + [4.0])
    height = max([s[1] for s in spans] + [2.0])
    rows = max(1, -(-len(samples) // columns))
    panel_w = min(7.0, 1.2 + 0.45 * width)
    fig = Figure(figsize=(panel_w * columns, (panel_w * height / width + 0.5) * rows), dpi=100)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, sample, p in zip(axes, samples, points, strict=False):
        ends = np.flatnonzero(p[:-1, 2] > 0.5)
        for i in ends:  # pen-up travel: last point of a stroke to the first of the next
            ax.plot(p[i : i + 2, 0], p[i : i + 2, 1], "--", color="tab:red", lw=0.6, alpha=0.4)
        for stroke in split_strokes(p):
            curve = smooth_stroke(stroke)
            ax.plot(curve[:, 0], curve[:, 1], "-", color="black", lw=1.4, solid_capstyle="round")
            ax.plot(stroke[:, 0], stroke[:, 1], ".", color="tab:blue", ms=1.6)
        label = repr(sample.text) + ("" if sample.style_id is None else f"  style {sample.style_id}")
        n_strokes = len(ends) + 1 if len(p) else 0
        strokes = counted(n_strokes, "stroke")
        ax.set_title(f"{label}  ({len(p)} points, {strokes})", fontsize=8)
        ax.set_aspect("equal")
        ax.set_axis_off()
    for ax in axes[len(samples) :]:
        ax.set_axis_off()
    return save_figure(fig, path, title)


def plot_motion_grid(
    samples: list,
    path: str | Path,
    dim_names: tuple[str, ...],
    event_names: tuple[str, ...],
    title: str = "",
) -> Path:
    """Trajectories that are not handwriting, one row each. Positions (dims named x, y[, z] or dx, dy[, dz]):
    the path from above (first two dims, integrated; red dots where the first event is on) and the first
    three dims against the step. Anything else (joints, any D): every dim's integrated trace against the
    step, and the events against the step. The first event's steps are shaded.

    samples: trajtok.sample.Sample objects with deltas (T, D) and events (T, E).
    """
    path = Path(path)
    event = event_names[0] if event_names else ""
    names = [name[1:] if name.startswith("d") and len(name) > 1 else name for name in dim_names]  # dx -> x
    if tuple(names[:2]) != ("x", "y"):
        return _plot_traces(samples, path, names, event_names, title)
    fig = Figure(figsize=(9.0, 2.6 * max(1, len(samples))), dpi=100)
    axes = fig.subplots(max(1, len(samples)), 2, squeeze=False)
    for (top, over_time), sample in zip(axes, samples, strict=False):
        position = np.cumsum(sample.deltas, axis=0)  # (T, D) relative to the start
        on = sample.events[:, 0].astype(bool) if sample.events.shape[1] else np.zeros(len(position), bool)
        top.plot(position[:, 0], position[:, 1], "-", color="tab:blue", lw=1.0)
        top.plot(position[on, 0], position[on, 1], ".", color="tab:red", ms=4, label=f"{event} on")
        top.plot(*position[0, :2], "o", color="black", ms=4)
        top.set_xlabel(names[0], fontsize=7)
        top.set_ylabel(names[1], fontsize=7)
        top.set_aspect("equal", adjustable="datalim")
        top.set_title(f"{sample.text!r} from above ({len(position)} steps)", fontsize=8)
        for j, name in enumerate(names[:3]):
            over_time.plot(position[:, j], lw=1.0, label=name)
        for t in np.flatnonzero(on):
            over_time.axvspan(t - 0.5, t + 0.5, color="tab:red", alpha=0.12, lw=0)
        over_time.set_xlabel("step", fontsize=7)
        over_time.set_title(f"position per step (shaded: {event} on)", fontsize=8)
        over_time.legend(fontsize=6, loc="best")
        for ax in (top, over_time):
            ax.tick_params(labelsize=6)
    return save_figure(fig, path, title)


TRACE_COLUMNS = 4  # panels a row in the per-dim picture of joint-space (or any non-position) trajectories


def _plot_traces(samples: list, path: Path, names: list[str], event_names: tuple[str, ...], title: str):
    """plot_motion_grid for dims that are not positions: one small panel per dim (its integrated trace) and
    per event, each named, every sample overlaid in its own colour, so a 26-joint humanoid reads dim by dim
    and its episodes compare at a glance."""
    panels = [(name, j, False) for j, name in enumerate(names)] + [
        (n, e, True) for e, n in enumerate(event_names)
    ]
    rows = -(-len(panels) // TRACE_COLUMNS)
    fig = Figure(figsize=(9.0, 0.4 + 1.45 * rows), dpi=100)
    axes = fig.subplots(rows, TRACE_COLUMNS, squeeze=False, sharex=True)
    for ax, (name, index, is_event) in zip(axes.flat, panels, strict=False):
        for k, sample in enumerate(samples):
            steps = np.arange(len(sample))
            label = f"{k + 1}: {len(sample)} steps"
            if is_event:
                ax.step(steps, sample.events[:, index] + 0.04 * k, where="mid", lw=0.8, label=label)
            else:
                ax.plot(steps, np.cumsum(sample.deltas[:, index]), lw=0.8, label=label)
        ax.set_title(f"{name} (on = 1)" if is_event else name, fontsize=7, pad=2)
        ax.tick_params(labelsize=5)
    for i, ax in enumerate(axes.flat[: len(panels)]):
        if i + TRACE_COLUMNS >= len(panels):  # nothing below it: its steps are labelled
            ax.tick_params(labelbottom=True)
            ax.set_xlabel("step", fontsize=6)
    for ax in axes.flat[len(panels) :]:
        ax.set_axis_off()
    texts = sorted({sample.text for sample in samples})
    axes[0, 0].legend(fontsize=5, loc="best", title="sample", title_fontsize=5)
    heading = f"{title}\n" if title else ""
    task = f"{texts[0]!r}, " if len(texts) == 1 and texts[0] else ""
    return save_figure(
        fig, path, f"{heading}{task}{len(names)} dims from the start, {len(event_names)} events"
    )


def plot_tracking(
    commanded_uv_m: np.ndarray,
    tracked_uv_m: np.ndarray,
    pen_down: np.ndarray,
    error_mm: np.ndarray,
    t_s: np.ndarray,
    path: str | Path,
    title: str = "",
) -> Path:
    """Commanded vs tracked pen tip on the board (top; u right, v up, mm) and the tracking error in time.

    commanded/tracked (M, 2) board coordinates, pen_down (M,) bool, error_mm (M,) tip-to-command distance.
    """
    path = Path(path)
    pen_down = np.asarray(pen_down, dtype=bool)
    span_mm = np.ptp(commanded_uv_m, axis=0) * 1000 if len(commanded_uv_m) else np.ones(2)
    # the board panel as tall as the ink's aspect asks (equal axes), so no empty band surrounds it
    board_in = float(np.clip(10.0 * span_mm[1] / max(span_mm[0], 1e-6), 1.2, 7.0)) + 0.8
    fig = Figure(figsize=(11, board_in + 3.2), dpi=100)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [board_in, 2.6]})
    runs = np.split(np.arange(len(pen_down)), np.flatnonzero(np.diff(pen_down.astype(int))) + 1)
    for i, run in enumerate(r for r in runs if len(r) and pen_down[r[0]]):
        cmd, trk = commanded_uv_m[run] * 1000, tracked_uv_m[run] * 1000
        top.plot(
            cmd[:, 0],
            cmd[:, 1],
            "-",
            color="0.7",
            lw=4,
            solid_capstyle="round",
            label="commanded" if i == 0 else None,
        )
        top.plot(trk[:, 0], trk[:, 1], "-", color="tab:red", lw=0.8, label="tracked tip" if i == 0 else None)
    up = ~pen_down
    top.plot(tracked_uv_m[up, 0] * 1000, tracked_uv_m[up, 1] * 1000, ",", color="tab:blue", alpha=0.3)
    top.set_aspect("equal")
    top.set_xlabel("u (mm)")
    top.set_ylabel("v (mm)")
    top.legend(loc="upper right", fontsize=8)
    top.set_title(title or "pen tip on the board (blue dots: pen-up travel)", fontsize=10)
    bottom.plot(t_s[pen_down], error_mm[pen_down], ".", color="tab:red", ms=1.5, label="pen down")
    bottom.plot(t_s[up], error_mm[up], ".", color="tab:blue", ms=1.0, alpha=0.4, label="pen up")
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("tracking error (mm)")
    bottom.legend(loc="upper right", fontsize=8)
    return save_figure(fig, path)


def plot_pick_episodes(
    fingertip_xyz_m: list[np.ndarray],
    expert_xyz_m: list[np.ndarray],
    cube_start_xy_m: np.ndarray,
    cube_end_xy_m: np.ndarray,
    tray_xy_m: np.ndarray,
    tray_half_m: float,
    success: np.ndarray,
    path: str | Path,
    columns: int = 5,
    title: str = "",
) -> Path:
    """Pick-and-place episodes seen from above (x right, y up, metres), one panel each: the tray's inside
    (square), the cube where it started (filled square) and ended (cross), the model's fingertip path (solid)
    and the scripted expert's on the same scene (dashed); panels titled by the outcome.

    fingertip_xyz_m / expert_xyz_m: N arrays (T, 3); cube_start_xy_m, cube_end_xy_m, tray_xy_m (N, 2);
    success (N,) bool.
    """
    path = Path(path)
    n = len(fingertip_xyz_m)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    # one extent for every panel: the scenes side by side at one scale, none squeezed to its own path
    xy = [p[:, :2] for p in (*fingertip_xyz_m, *expert_xyz_m)] + [cube_start_xy_m, tray_xy_m - tray_half_m,
                                                                   tray_xy_m + tray_half_m]  # fmt: skip
    low, high = np.min([a.min(axis=0) for a in xy], axis=0), np.max([a.max(axis=0) for a in xy], axis=0)
    low, high = low - 0.03, high + 0.03
    panel_width = 0.6 + 2.2 * (high[0] - low[0]) / (high[1] - low[1])  # inches, for a 2.2-inch-high map
    fig = Figure(figsize=(max(6.5, panel_width * columns), 2.8 * rows), dpi=100)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for i, ax in enumerate(axes[:n]):
        tx, ty = tray_xy_m[i]
        ax.add_patch(_square(tx, ty, tray_half_m, fill=False, edgecolor="0.4", lw=1.2))
        ax.add_patch(_square(*cube_start_xy_m[i], 0.02, color="tab:red", alpha=0.6))
        ax.plot(expert_xyz_m[i][:, 0], expert_xyz_m[i][:, 1], "--", color="0.6", lw=0.8)
        ax.plot(fingertip_xyz_m[i][:, 0], fingertip_xyz_m[i][:, 1], "-", color="tab:blue", lw=1.0)
        ax.plot(*cube_end_xy_m[i], "x", color="black", ms=7, mew=2)
        ax.set_title(
            "in the tray" if success[i] else "MISSED", fontsize=9, color="black" if success[i] else "red"
        )
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    for ax in axes[n:]:
        ax.set_axis_off()
    return save_figure(
        fig,
        path,
        title or "from above: model fingertip (blue), expert (dashed), cube start (red) and end (x)",
    )


def _square(x: float, y: float, half: float, **style):
    from matplotlib.patches import Rectangle

    return Rectangle((x - half, y - half), 2 * half, 2 * half, **style)


TITLE_LINE_INCHES = 0.2  # a line of the 10-point figure title, with its spacing


def save_figure(fig: Figure, path: Path, title: str = "") -> Path:
    """Title (if any) a fixed distance from the top, tight layout below it, write the file (creating its
    folder); returns the path. Placed in inches: matplotlib's default, a fraction of the height, puts the
    title of a tall figure (a 26-dim tokenizer's bins, 83 inches) inside its first row of plots."""
    if title:
        height = fig.get_figheight()
        fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
        top = 0.12 + TITLE_LINE_INCHES * (title.count("\n") + 1)
        fig.tight_layout(rect=(0, 0, 1, 1 - top / height))
    else:
        fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figure(fig, path)
    return path
