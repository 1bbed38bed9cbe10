"""The fit's three panels (data and lines, loss per epoch, path on the loss surface) and plot_fit, which draws them."""

from typing import Any

from ..training import History
from .canvas import (
    DATA_COLOR,
    FIRST_COLOR,
    OPT_COLOR,
    SGD_COLOR,
    checked_data,
    draw_contours,
    equation,
    fmt_num,
    history_arrays,
    least_squares,
    loss_at,
    new_figure,
    numpy64,
    require_matplotlib,
)
from .fonts import rc_context, set_font
from .labels import words


def run_title(xname: str, yname: str, epochs: int, lr: float, batch_size: int, *, lang: str = "en") -> str:
    """The title of a run's picture: 'y ≈ w·x + b: 100 epochs, lr 1, batch 1' (in Korean for lang='ko')."""
    return words(lang)["run_title"].format(x=xname, y=yname, epochs=epochs, lr=lr, batch=batch_size)


def draw_data_and_lines(
    ax: Any,
    x: Any,
    y: Any,
    history: History,
    *,
    xlabel: str = "x",
    ylabel: str = "y",
    optimum: bool = True,
    lang: str = "en",
) -> dict[str, Any]:
    """Panel 1: the samples as dots and the line ŷ = w·x + b after the first epoch and after the last.

    optimum: also draw the least-squares line (dotted) for comparison. Returns the artists by name.
    """
    require_matplotlib()
    x, y = checked_data(x, y)
    t = words(lang)
    xs, ys = x.numpy(), y.numpy()
    hw, hb = history_arrays(history)
    ends = [xs.min(), xs.max()]  # the book draws each line across the data's x range
    after = t["after_epoch"]
    lines = [
        ("first", hw[0], hb[0], after.format(epoch=1, eq=equation(hw[0], hb[0])), FIRST_COLOR, "--", 2.2),
        ("last", hw[-1], hb[-1], after.format(epoch=len(hw), eq=equation(hw[-1], hb[-1])), SGD_COLOR, "-", 2.2),
    ]
    if optimum:
        w, b = least_squares(x, y)
        lines.append(("optimum", w, b, t["least_squares_eq"].format(eq=equation(w, b)), OPT_COLOR, ":", 1.8))
    with rc_context(lang):
        artists = {
            "data": ax.scatter(xs, ys, s=10, color=DATA_COLOR, alpha=0.55, linewidths=0, label=t["data"], zorder=1)
        }
        for key, w, b, label, color, style, lw in lines:
            (artists[key],) = ax.plot(
                ends, [w * ends[0] + b, w * ends[1] + b], style, color=color, lw=lw, label=label, zorder=2
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(t["data_title"])
        ax.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
        set_font(ax, lang)
    return artists


def draw_loss_curve(ax: Any, history: History, *, best: float | None = None, lang: str = "en") -> dict[str, Any]:
    """Panel 2: the mean loss after each epoch (history.loss), on a log y axis when it spans over a decade.

    best: the least-squares loss, drawn as the dashed floor no fit can go below. Returns the artists by name.
    """
    require_matplotlib()
    history_arrays(history)
    t = words(lang)
    loss = numpy64(history.loss)
    epochs = list(range(1, len(loss) + 1))
    log = loss.min() > 0 and loss.max() / loss.min() > 10
    with rc_context(lang):
        if log:
            ax.set_yscale("log")
        (line,) = ax.plot(
            epochs,
            loss,
            "-",
            color=SGD_COLOR,
            lw=2,
            marker="o",
            ms=3,
            markevery=max(1, len(loss) // 25),
            label=t["loss_per_epoch"],
        )
        artists = {"loss": line}
        if best is not None and (not log or best > loss.min() / 10):  # a floor decades below would squash the curve
            artists["best"] = ax.axhline(
                best, ls="--", color=OPT_COLOR, lw=1.3, label=t["best_loss"].format(loss=fmt_num(best))
            )
            gap = loss[-1] - best
            if not log and gap > 0.05 * (loss.max() - best):  # the gap the caption explains, when it shows
                at = 0.62 * (len(loss) + 1)
                ax.annotate("", (at, best), (at, loss[-1]), arrowprops=dict(arrowstyle="<->", color="#555555", lw=1))
                ax.annotate(
                    t["gap"].format(gap=fmt_num(gap)),
                    (at, best + gap / 2),
                    xytext=(6, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=9,
                    color="#555555",
                )
        ax.set_xlabel(t["epoch"])
        ax.set_ylabel(t["mean_loss"])
        ax.set_title(t["loss_title"].format(loss=fmt_num(loss[-1])))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8.5, framealpha=0.9)
        set_font(ax, lang)
    return artists


def draw_loss_surface(
    ax: Any,
    x: Any,
    y: Any,
    history: History,
    *,
    w0: float = 1.0,
    b0: float = 1.0,
    grid: int = 240,
    colorbar: bool = True,
    lang: str = "en",
) -> dict[str, Any]:
    """Panel 3: contours of the mean loss L(w, b) and the path of (w, b) epoch by epoch from (w0, b0).

    Marks the start, the point per-sample SGD settles on (the last epoch) and the least-squares optimum;
    the grid spans all of them with a margin. Returns the artists by name ("path" holds [w0, *history.w]).
    """
    require_matplotlib()
    import numpy as np

    t = words(lang)
    hw, hb = history_arrays(history)
    w_opt, b_opt = least_squares(x, y)
    path_w, path_b = np.concatenate([[w0], hw]), np.concatenate([[b0], hb])
    artists = draw_contours(ax, x, y, path_w, path_b, grid=grid, colorbar=colorbar, lang=lang)
    with rc_context(lang):
        (artists["path"],) = ax.plot(
            path_w,
            path_b,
            "-o",
            color=SGD_COLOR,
            lw=1.6,
            ms=3.2,
            mec="white",
            mew=0.4,
            label=t["path_epochs"],
            zorder=4,
        )
        (artists["start"],) = ax.plot(
            [w0], [b0], "s", color="black", ms=7, label=t["start"].format(w=fmt_num(w0), b=fmt_num(b0)), zorder=5
        )
        (artists["sgd"],) = ax.plot(
            [hw[-1]],
            [hb[-1]],
            "o",
            color=SGD_COLOR,
            ms=9,
            mec="black",
            mew=1.2,
            label=t["settles"].format(w=hw[-1], b=hb[-1]),
            zorder=6,
        )
        (artists["optimum"],) = ax.plot(
            [w_opt],
            [b_opt],
            "*",
            color="gold",
            ms=16,
            mec="black",
            mew=1.0,
            label=t["least_squares_at"].format(w=w_opt, b=b_opt),
            zorder=6,
        )
        ax.annotate(
            t["epoch_1"],
            (hw[0], hb[0]),
            xytext=(-8, 10),
            textcoords="offset points",
            ha="right",
            fontsize=8.5,
            color=SGD_COLOR,
        )
        ax.set_xlabel(t["w_axis"])
        ax.set_ylabel(t["b_axis"])
        ax.set_title(t["surface_title"])
        ax.legend(loc="lower right", fontsize=8, framealpha=0.92)
        set_font(ax, lang)
    return artists


def plot_fit(
    path: Any,
    x: Any,
    y: Any,
    history: History,
    *,
    w0: float = 1.0,
    b0: float = 1.0,
    title: str | None = None,
    size: tuple[float, float] = (15, 4.5),
    dpi: float = 100,
    xlabel: str = "x",
    ylabel: str = "y",
    caption: str | None = None,
    lang: str = "en",
) -> Any:
    """Save one PNG of a fit (data and lines | loss per epoch | loss surface with the path) and return path.

    x, y: the 1-D data the neuron was fitted on; history: its Neuron.fit(..., history=True);
    (w0, b0): where the fit started. The image is size·dpi pixels. caption: text under the panels;
    None explains the gap between SGD's end point and the optimum when there is one, "" leaves it out.
    lang: 'en' or 'ko' (Korean: needs pip install 'torch_neuron[ko]').
    """
    require_matplotlib()
    t = words(lang)
    x, y = checked_data(x, y)
    with rc_context(lang):  # first, so a missing Korean font is an error before any drawing
        fig = new_figure(size, dpi)
        ax_data, ax_loss, ax_surf = fig.subplots(1, 3, width_ratios=[1, 1, 1.15])
        draw_data_and_lines(ax_data, x, y, history, xlabel=xlabel, ylabel=ylabel, lang=lang)
        best = loss_at(x, y, *least_squares(x, y))
        draw_loss_curve(ax_loss, history, best=best, lang=lang)
        draw_loss_surface(ax_surf, x, y, history, w0=w0, b0=b0, lang=lang)
        fig.suptitle(title or t["fit_title"].format(epochs=len(history.w)), fontsize=13)
        if caption is None and float(history.loss[-1]) > best * (1 + 1e-3) + 1e-12:
            caption = t["caption"]
        if caption:
            fig.supxlabel(caption, fontsize=9.5, color="#333333")
        fig.savefig(path, dpi=dpi)
    return path
