"""The descent as an animated GIF: the line moves over the data while (w, b) moves over the loss surface.

Step by step through the first epoch (functional.sgd_step on each batch in order, as the loop engine
runs it), then epoch by epoch (the fit's history). Drawn on an Agg figure (no pyplot), one frame per
chosen point, written by matplotlib.animation.PillowWriter (.gif), or FFMpegWriter (.mp4) where matplotlib
finds ffmpeg. Part of torch_neuron.plot (re-exported there).
"""

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from ..functional import sgd_step
from ..training import History
from .canvas import (
    OPT_COLOR,
    SGD_COLOR,
    checked_data,
    cpu64,
    draw_contours,
    equation,
    history_arrays,
    least_squares,
    new_figure,
    require_matplotlib,
)
from .fonts import rc_context, set_font
from .labels import words


class Descent(NamedTuple):
    """The path of (w, b): the start, after each step of epoch 1, then after each later epoch.

    Each of shape (1 + steps + epochs − 1,). epoch: 0 at the start, 1 through the first epoch, e after
    epoch e; step: the step in epoch 1 (0 elsewhere).
    """

    w: torch.Tensor
    b: torch.Tensor
    epoch: torch.Tensor
    step: torch.Tensor


def descent(
    x: Any, y: Any, history: History, *, w0: float = 1.0, b0: float = 1.0, lr: float = 1.0, batch_size: int = 1
) -> Descent:
    """The Descent of a fit: its first epoch redone step by step with sgd_step, then its history.

    history must be of a fit in order (no shuffle) from (w0, b0) with this lr and batch_size: the step-by-step
    epoch must land on history's first epoch (to √eps of its dtype), or this is a ValueError.
    """
    x, y = checked_data(x, y)
    history_arrays(history)  # an empty history is an error here
    w, b = torch.tensor(float(w0), dtype=torch.float64), torch.tensor(float(b0), dtype=torch.float64)
    ws, bs = [w], [b]
    for i in range(0, len(x), batch_size):  # the loop engine's epoch: batches in order, a short last one included
        w, b = sgd_step(w, b, x[i : i + batch_size], y[i : i + batch_size], lr)
        ws.append(w)
        bs.append(b)
    hw, hb = cpu64(history.w), cpu64(history.b)
    tol = torch.finfo(history.w.dtype).eps ** 0.5
    if not (torch.isclose(w, hw[0], rtol=tol, atol=0) and torch.isclose(b, hb[0], rtol=tol, atol=tol)):
        raise ValueError(
            f"history does not start with one epoch of steps in order from (w0, b0) = ({float(w0):g}, {float(b0):g}) "
            f"with lr={lr:g} and batch_size={batch_size} (epoch 1 ends at ({hw[0].item():.6g}, {hb[0].item():.6g}), "
            f"the steps at ({w.item():.6g}, {b.item():.6g})): animate a fit without shuffle, with the same lr and "
            "batch size"
        )
    steps, later = len(ws) - 1, len(hw) - 1
    epoch = torch.cat([torch.zeros(1), torch.ones(steps), torch.arange(2, later + 2)]).long()
    step = torch.cat([torch.arange(steps + 1), torch.zeros(later)]).long()
    return Descent(torch.cat([torch.stack(ws), hw[1:]]), torch.cat([torch.stack(bs), hb[1:]]), epoch, step)


def frame_indices(path: Descent, *, first: int = 36, later: int = 24, hold: int = 6) -> list[int]:
    """Which points of the path the frames show, in order: the first steps one by one, then spaced steps
    to the end of epoch 1, then epochs spaced geometrically (early epochs move most); each end held `hold` frames.
    """
    import numpy as np

    steps = int(path.step.max())
    ones = list(range(min(6, steps) + 1))  # the start and the first steps, each its own frame
    spaced = np.linspace(ones[-1], steps, max(first - len(ones), 2)).round().astype(int).tolist()
    frames = sorted(set(ones + spaced)) + [steps] * (hold // 2)
    epochs = int(path.epoch[-1])
    if epochs > 1:
        chosen = np.unique(np.geomspace(2, epochs, min(later, epochs - 1)).round().astype(int))
        frames += [steps + int(e) - 1 for e in chosen]
    return frames + [len(path.w) - 1] * hold


def draw_descent(
    fig: Any,
    x: Any,
    y: Any,
    path: Descent,
    *,
    batch_size: int = 1,
    xlabel: str = "x",
    ylabel: str = "y",
    lang: str = "en",
) -> tuple[Callable[[int], tuple[Any, ...]], dict[str, Any]]:
    """Draw the still parts on fig (data | loss contours) and return (update, artists).

    update(i) shows the path up to point i: the line ŷ = w_i·x + b_i, the batch just used (in epoch 1),
    and the path of (w, b) so far (artists "steps": points 0 … end of epoch 1, "epochs": from there on);
    it returns the artists it changed.
    """
    import numpy as np

    t = words(lang)
    x, y = checked_data(x, y)
    xs, ys = x.numpy(), y.numpy()
    pw, pb = path.w.numpy(), path.b.numpy()
    w_opt, b_opt = least_squares(x, y)
    ends = np.array([xs.min(), xs.max()])
    with rc_context(lang):
        ax_data, ax_surf = fig.subplots(1, 2, width_ratios=[1, 1.1])
        ax_data.scatter(xs, ys, s=9, color="#bcc1c4", linewidths=0, label=t["data"])  # opaque: fewer GIF colours
        ax_data.plot(
            ends,
            w_opt * ends + b_opt,
            ":",
            color=OPT_COLOR,
            lw=1.6,
            label=t["least_squares_eq"].format(eq=equation(w_opt, b_opt)),
        )
        now = t["line_now"].format(eq=equation(pw[0], pb[0]))
        (line,) = ax_data.plot(ends, pw[0] * ends + pb[0], "-", color=SGD_COLOR, lw=2.4, label=now)
        (used,) = ax_data.plot([], [], "o", ms=9, mfc="none", mec="black", mew=1.8, label=t["sample_now"])
        pad = 0.08 * (ys.max() - ys.min())
        ax_data.set_ylim(ys.min() - pad, ys.max() + pad)  # fixed axes: the line moves, the view does not
        ax_data.set_xlabel(xlabel)
        ax_data.set_ylabel(ylabel)
        legend = ax_data.legend(loc="upper left", fontsize=8.5, framealpha=0.92)
        (line_label,) = [text for text in legend.get_texts() if text.get_text() == now]

        artists = draw_contours(ax_surf, x, y, pw, pb, grid=160, colorbar=False, lang=lang)
        ax_surf.plot(
            [pw[0]],
            [pb[0]],
            "s",
            color="black",
            ms=6,
            zorder=5,
            label=t["start"].format(w=f"{pw[0]:g}", b=f"{pb[0]:g}"),
        )
        ax_surf.plot(
            [w_opt],
            [b_opt],
            "*",
            color="gold",
            ms=15,
            mec="black",
            zorder=6,
            label=t["least_squares_at"].format(w=w_opt, b=b_opt),
        )
        (steps,) = ax_surf.plot([], [], "-", color="#e08e86", lw=0.6, zorder=3, label=t["path_steps"])
        (epochs,) = ax_surf.plot(
            [], [], "-o", color=SGD_COLOR, lw=1.6, ms=3, mec="white", mew=0.4, zorder=4, label=t["path_epochs"]
        )
        (point,) = ax_surf.plot([], [], "o", color=SGD_COLOR, ms=9, mec="black", mew=1.2, zorder=7)
        ax_surf.set_xlabel(t["w_axis"])
        ax_surf.set_ylabel(t["b_axis"])
        ax_surf.legend(loc="lower right", fontsize=8.5, framealpha=0.92)
        what = t["sample_by_sample"] if batch_size == 1 else t["batch_by_batch"].format(batch=batch_size)
        # matplotlib spaces lines by the height of "lp"; Hangul stands taller, so a 2-line Korean title needs more
        title = fig.suptitle(" \n ", fontsize=12.5, linespacing=1.45)
        set_font(fig, lang)
    n_steps, n_epochs = int(path.step.max()), int(path.epoch[-1])
    head = t["anim_title"].format(what=what)

    def update(i: int) -> tuple[Any, ...]:
        w, b, epoch, step = pw[i], pb[i], int(path.epoch[i]), int(path.step[i])
        line.set_ydata(w * ends + b)
        line_label.set_text(t["line_now"].format(eq=equation(w, b)))
        lo = (step - 1) * batch_size  # the batch of this step, if it is one
        used.set_data(xs[lo : lo + batch_size], ys[lo : lo + batch_size]) if step else used.set_data([], [])
        if step:
            status = t["anim_step"].format(step=step, steps=n_steps)
        elif epoch:
            status = t["anim_epoch"].format(epoch=epoch, epochs=n_epochs)
        else:
            status = t["anim_start"].format(w=w, b=b)
        title.set_text(f"{head}\n{status}")
        steps.set_data(pw[: min(i, n_steps) + 1], pb[: min(i, n_steps) + 1])
        epochs.set_data(pw[n_steps : i + 1], pb[n_steps : i + 1])  # empty until epoch 1 ends
        point.set_data([w], [b])
        return line, line_label, used, title, steps, epochs, point

    artists.update(line=line, used=used, steps=steps, epochs=epochs, point=point, title=title)
    update(0)
    return update, artists


FFMPEG_SUFFIXES = (".mp4",)


def animation_format(path: Any) -> str:
    """path's suffix, if this machine can write an animation in that format: .gif (Pillow, always), .mp4 (where
    matplotlib finds ffmpeg); else a ValueError that lists the formats it can write. Cheap: call it before a fit."""
    from matplotlib import animation

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    ffmpeg = animation.writers.is_available("ffmpeg")  # on PATH, or rcParams['animation.ffmpeg_path']
    if suffix == ".gif" or (suffix in FFMPEG_SUFFIXES and ffmpeg):
        return suffix
    can = (
        ".gif (Pillow), .mp4 (ffmpeg)"
        if ffmpeg
        else ".gif (Pillow); .mp4 needs ffmpeg, which matplotlib does not find (install ffmpeg, or set "
        "rcParams['animation.ffmpeg_path'])"
    )
    what = f"a {suffix} file" if suffix else "a file without a suffix"  # the suffix: the path may be a temporary one
    raise ValueError(f"cannot write an animation as {what}: the formats written here are {can}")


def animation_writer(path: Any, fps: int = 6) -> Any:
    """The matplotlib writer for path's format (animation_format): PillowWriter for .gif, FFMpegWriter for .mp4."""
    from matplotlib import animation

    if animation_format(path) == ".gif":
        return animation.PillowWriter(fps=fps)
    return animation.FFMpegWriter(fps=fps)


def animate_fit(
    path: Any,
    x: Any,
    y: Any,
    history: History,
    *,
    w0: float = 1.0,
    b0: float = 1.0,
    lr: float = 1.0,
    batch_size: int = 1,
    xlabel: str = "x",
    ylabel: str = "y",
    size: tuple[float, float] = (11, 4.6),
    dpi: float = 72,
    fps: int = 6,
    lang: str = "en",
) -> Any:
    """Save an animation of the fit's descent and return path: step by step through epoch 1, then by epoch.

    x, y: the 1-D data; history: Neuron.fit(..., history=True) of a fit in order from (w0, b0) with this lr
    and batch_size (see descent). path's suffix picks the format: .gif, or .mp4 where ffmpeg is found (else a
    ValueError naming the formats, before any work). size·dpi pixels a frame, fps frames a second; lang 'en' or 'ko'.
    """
    require_matplotlib()
    writer = animation_writer(path, fps)  # first: a format this machine cannot write costs nothing

    with rc_context(lang):  # first: a missing Korean font is an error before any work
        trajectory = descent(x, y, history, w0=w0, b0=b0, lr=lr, batch_size=batch_size)
        fig = new_figure(size, dpi)
        update, _ = draw_descent(fig, x, y, trajectory, batch_size=batch_size, xlabel=xlabel, ylabel=ylabel, lang=lang)
        fig.canvas.draw()
        fig.set_layout_engine(None)  # the first frame's layout holds for all: no re-layout per frame
        with writer.saving(fig, path, dpi):  # one draw a frame (FuncAnimation.save would draw each twice)
            for i in frame_indices(trajectory):
                update(i)
                writer.grab_frame()
    return path
