"""The limit cycle: where per-sample SGD with a fixed step goes during one more epoch after the fit.

Part of torch_neuron.plot (re-exported there); the same conventions: Agg figures, no pyplot, lang 'en' or 'ko'.
"""

from typing import Any

import torch

from ..training import History
from .canvas import (
    DATA_COLOR,
    OPT_COLOR,
    SGD_COLOR,
    checked_data,
    equation,
    history_arrays,
    least_squares,
    new_figure,
    require_matplotlib,
)
from .fonts import rc_context
from .labels import words


def one_more_epoch(x: Any, y: Any, history: History, *, lr: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, b) after each sample of one more per-sample epoch from the fit's end: shape (n + 1,) each, start first.

    The book's update (functional.sgd_step on one sample at a time, in order): where a fixed step lands
    at every sample, not just at the end of the epoch that the history records.
    """
    from ..functional import sgd_step

    x, y = checked_data(x, y)
    hw, hb = history_arrays(history)
    w, b = torch.tensor(hw[-1], dtype=torch.float64), torch.tensor(hb[-1], dtype=torch.float64)
    ws, bs = [w], [b]
    for i in range(len(x)):
        w, b = sgd_step(w, b, x[i : i + 1], y[i : i + 1], lr)
        ws.append(w)
        bs.append(b)
    return torch.stack(ws), torch.stack(bs)


def plot_limit_cycle(
    path: Any,
    x: Any,
    y: Any,
    history: History,
    *,
    lr: float = 1.0,
    last: int = 3,
    size: tuple[float, float] = (13, 4.8),
    dpi: float = 100,
    xlabel: str = "x",
    ylabel: str = "y",
    lang: str = "en",
) -> Any:
    """Save a PNG of one more epoch, sample by sample: (w, b) on its cycle | the lines after the last samples.

    For a fit by the book's per-sample steps in order (batch_size=1, no shuffle) with this lr; last ≤ 5.
    """
    require_matplotlib()
    t = words(lang)
    x, y = checked_data(x, y)
    ws, bs = (v.numpy() for v in one_more_epoch(x, y, history, lr=lr))
    xs, ys = x.numpy(), y.numpy()
    w_opt, b_opt = least_squares(x, y)
    with rc_context(lang):
        fig = new_figure(size, dpi)
        ax_cycle, ax_lines = fig.subplots(1, 2)

        ax_cycle.plot(ws, bs, "-", color="#95a5a6", lw=0.4, zorder=1)
        dots = ax_cycle.scatter(ws[1:], bs[1:], c=range(1, len(ws)), cmap="viridis", s=8, zorder=2)
        fig.colorbar(dots, ax=ax_cycle, pad=0.02, fraction=0.05).set_label(t["cycle_bar"])
        ax_cycle.plot(ws[0], bs[0], "o", ms=13, mfc="none", mec=SGD_COLOR, mew=2.2, label=t["cycle_start"], zorder=3)
        ax_cycle.plot(ws[-1], bs[-1], "o", ms=5, color=SGD_COLOR, label=t["cycle_end"], zorder=4)
        ax_cycle.plot(
            ws.mean(),
            bs.mean(),
            "D",
            ms=8,
            mfc="white",
            mec="black",
            label=t["cycle_mean"].format(w=ws.mean(), b=bs.mean()),
            zorder=4,
        )
        ax_cycle.plot(
            w_opt,
            b_opt,
            "*",
            color="gold",
            ms=16,
            mec="black",
            label=t["least_squares_at"].format(w=w_opt, b=b_opt),
            zorder=5,
        )
        lo, hi = bs.min(), bs.max()
        ax_cycle.set_ylim(lo - 0.05 * (hi - lo), hi + 0.4 * (hi - lo))  # head room for the legend
        ax_cycle.set_xlabel(t["w_axis"])
        ax_cycle.set_ylabel(t["b_axis"])
        ax_cycle.set_title(t["cycle_title"].format(lr=lr))
        ax_cycle.legend(loc="upper center", fontsize=8, framealpha=0.95, ncols=2)

        ends = [xs.min(), xs.max()]
        ax_lines.scatter(xs, ys, s=9, color=DATA_COLOR, alpha=0.35, linewidths=0, label=t["data"])
        ax_lines.plot(
            ends,
            [w_opt * e + b_opt for e in ends],
            ":",
            color=OPT_COLOR,
            lw=1.8,
            label=t["least_squares_eq"].format(eq=equation(w_opt, b_opt)),
        )
        colors = ("#16a085", "#2c3e50", "#f39c12", "#8e44ad", SGD_COLOR)  # the last sample's line in the fit's red
        n, last = len(xs), max(1, min(last, len(colors), len(xs)))
        for k, color in zip(range(n - last, n), colors[-last:]):
            w, b = ws[k + 1], bs[k + 1]  # (w, b) right after the step on sample k
            ax_lines.plot(
                ends,
                [w * e + b for e in ends],
                color=color,
                lw=2,
                label=t["after_sample"].format(k=k + 1, eq=equation(w, b)),
            )
            ax_lines.plot(xs[k], ys[k], "o", ms=10, color=color, mec="black", zorder=5)
        ax_lines.set_xlabel(xlabel)
        ax_lines.set_ylabel(ylabel)
        ax_lines.set_title(t["lines_title"].format(last=last))
        ax_lines.legend(loc="upper left", fontsize=8, framealpha=0.95)
        fig.suptitle(t["cycle_suptitle"], fontsize=12.5)
        fig.supxlabel(t["cycle_caption"], fontsize=9.5, color="#333333")
        fig.savefig(path, dpi=dpi)
    return path
