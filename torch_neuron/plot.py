"""Pictures of a fit: the data with its fitted lines, the loss per epoch, and the path of (w, b) on the loss surface.

matplotlib is an optional extra (pip install 'torch_neuron[plot]'), imported only when a picture is drawn.
plot_fit draws on a matplotlib.figure.Figure with the Agg canvas, never pyplot: no display is needed and the
caller's pyplot backend and state are left alone. Nothing here changes the neuron, the data or the history.
Labels are English only: matplotlib's default font (DejaVu Sans) has no Hangul glyphs.
"""
import torch

from . import validate
from .training import epoch_losses

_MISSING = "plotting needs matplotlib: pip install 'torch_neuron[plot]'"
_DATA, _FIRST, _SGD, _OPT = "#7f8c8d", "#e67e22", "#c0392b", "#1a5276"
CAPTION = ("Why SGD stops short of the optimum: with a fixed step every sample still moves (w, b), so within an "
           "epoch they swing around the least-squares optimum on a limit cycle;\nthe end of every epoch lands on "
           "the same point of that cycle, near the optimum but not at it. Only a step that decays toward zero "
           "brings SGD onto the optimum.")


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError as e:
        raise ImportError(_MISSING) from e


def _cpu(t):
    """A float64 CPU copy of a tensor (any device) or array-like: plotting never touches the original."""
    return torch.as_tensor(t).detach().to("cpu", torch.float64).clone()


def _np(t):
    return _cpu(t).numpy()


def _data(x, y):
    x, y = _cpu(x), _cpu(y)
    validate.check_data(x, y, one_dim=True)
    return x, y


def _num(v):
    """Book-sized numbers as integers with thousands separators, small ones with 3 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _equation(w, b):
    return f"$\\hat{{y}}$ = {_num(w)}x {'+' if b >= 0 else '−'} {_num(abs(b))}"


def _history(history):
    if len(history.w) == 0:
        raise ValueError("history is empty (a fit of 0 epochs): nothing to draw")
    return _np(history.w), _np(history.b)


def least_squares(x, y):
    """The exact minimiser of mean ½(y − (w·x + b))²: lstsq on the columns [x, 1] → (w, b) as floats."""
    x, y = _data(x, y)
    sol = torch.linalg.lstsq(torch.stack([x, torch.ones_like(x)], 1), y[:, None]).solution
    return float(sol[0, 0]), float(sol[1, 0])


def _loss_at(x, y, w, b):
    w, b = (torch.tensor(float(v), dtype=torch.float64) for v in (w, b))
    return float(epoch_losses(*_data(x, y), w, b))


def draw_data_and_lines(ax, x, y, history, *, xlabel="x", ylabel="y", optimum=True):
    """Panel 1: the samples as dots and the line ŷ = w·x + b after the first epoch and after the last.

    optimum: also draw the least-squares line (dotted) for comparison. Returns the artists by name.
    """
    _require_matplotlib()
    x, y = _data(x, y)
    xs, ys = x.numpy(), y.numpy()
    hw, hb = _history(history)
    ends = [xs.min(), xs.max()]  # the book draws each line across the data's x range
    artists = {"data": ax.scatter(xs, ys, s=10, color=_DATA, alpha=0.55, linewidths=0, label="data", zorder=1)}
    lines = [("first", hw[0], hb[0], f"after epoch 1: {_equation(hw[0], hb[0])}", _FIRST, "--", 2.2),
             ("last", hw[-1], hb[-1], f"after epoch {len(hw)}: {_equation(hw[-1], hb[-1])}", _SGD, "-", 2.2)]
    if optimum:
        w, b = least_squares(x, y)
        lines.append(("optimum", w, b, f"least squares: {_equation(w, b)}", _OPT, ":", 1.8))
    for key, w, b, label, color, style, lw in lines:
        (artists[key],) = ax.plot(ends, [w * ends[0] + b, w * ends[1] + b], style, color=color, lw=lw,
                                  label=label, zorder=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Data and the fitted line")
    ax.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
    return artists


def draw_loss_curve(ax, history, *, best=None):
    """Panel 2: the mean loss after each epoch (history.loss), on a log y axis when it spans over a decade.

    best: the least-squares loss, drawn as the dashed floor no fit can go below. Returns the artists by name.
    """
    _require_matplotlib()
    if history.loss is None:
        raise ValueError("history has no loss (fit_chunks keeps none): nothing to draw")
    _history(history)
    loss = _np(history.loss)
    epochs = list(range(1, len(loss) + 1))
    log = loss.min() > 0 and loss.max() / loss.min() > 10
    if log:
        ax.set_yscale("log")
    (line,) = ax.plot(epochs, loss, "-", color=_SGD, lw=2, marker="o", ms=3,
                      markevery=max(1, len(loss) // 25), label="loss after each epoch")
    artists = {"loss": line}
    if best is not None and (not log or best > loss.min() / 10):  # a floor decades below would squash the curve
        artists["best"] = ax.axhline(best, ls="--", color=_OPT, lw=1.3, label=f"least-squares minimum ({_num(best)})")
        gap = loss[-1] - best
        if not log and gap > 0.05 * (loss.max() - best):  # the gap the caption explains, when it shows
            at = 0.62 * (len(loss) + 1)
            ax.annotate("", (at, best), (at, loss[-1]), arrowprops=dict(arrowstyle="<->", color="#555555", lw=1))
            ax.annotate(f"gap {_num(gap)}", (at, best + gap / 2), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=9, color="#555555")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss  ½(y − $\\hat{y}$)²")
    ax.set_title(f"Loss per epoch (last: {_num(loss[-1])})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8.5, framealpha=0.9)
    return artists


def _span(values, margin=0.12):
    lo, hi = min(values), max(values)
    pad = margin * (hi - lo or abs(hi) or 1.0)
    return lo - pad, hi + pad


def draw_loss_surface(ax, x, y, history, *, w0=1.0, b0=1.0, grid=240, colorbar=True):
    """Panel 3: contours of L(w, b) = mean ½(y − w·x − b)² and the path of (w, b) epoch by epoch from (w0, b0).

    Marks the start, the point per-sample SGD settles on (the last epoch) and the least-squares optimum;
    the grid spans all of them with a margin. Returns the artists by name ("path" holds [w0, *history.w]).
    """
    _require_matplotlib()
    import numpy as np

    xt, yt = _data(x, y)
    hw, hb = _history(history)
    w_opt, b_opt = least_squares(xt, yt)
    path_w, path_b = np.concatenate([[w0], hw]), np.concatenate([[b0], hb])
    w_lo, w_hi = _span([*path_w, w_opt])
    b_lo, b_hi = _span([*path_b, b_opt])
    W, B = torch.meshgrid(torch.linspace(w_lo, w_hi, grid, dtype=torch.float64),
                          torch.linspace(b_lo, b_hi, grid, dtype=torch.float64), indexing="xy")
    L = epoch_losses(xt, yt, W, B).numpy()  # the whole grid in one call, O(n + grid²)
    W, B = W.numpy(), B.numpy()

    # Levels spaced geometrically above the minimum: the valley near the optimum gets as many lines as the rim.
    best = _loss_at(xt, yt, w_opt, b_opt)
    top = max(L.max() - best, 1e-12)
    levels = best + np.geomspace(top * 1e-3, top, 13)
    filled = ax.contourf(W, B, L, levels=np.concatenate([[best], levels]), cmap="Blues", alpha=0.65)
    lines = ax.contour(W, B, L, levels=levels, colors="#34495e", linewidths=0.5, alpha=0.5)
    if colorbar:  # values on a bar, not on the lines, so no label sits on the path
        bar = ax.figure.colorbar(filled, ax=ax, pad=0.02, fraction=0.05)
        bar.set_label("mean loss L(w, b)")
        bar.set_ticks(levels[::3], labels=[_num(v) for v in levels[::3]], fontsize=8)

    artists = {"contours": lines, "filled": filled}
    (artists["path"],) = ax.plot(path_w, path_b, "-o", color=_SGD, lw=1.6, ms=3.2, mec="white", mew=0.4,
                                 label="(w, b) after each epoch", zorder=4)
    (artists["start"],) = ax.plot([w0], [b0], "s", color="black", ms=7,
                                  label=f"start ({_num(w0)}, {_num(b0)})", zorder=5)
    (artists["sgd"],) = ax.plot([hw[-1]], [hb[-1]], "o", color=_SGD, ms=9, mec="black", mew=1.2,
                                label=f"SGD settles ({hw[-1]:.1f}, {hb[-1]:.1f})", zorder=6)
    (artists["optimum"],) = ax.plot([w_opt], [b_opt], "*", color="gold", ms=16, mec="black", mew=1.0,
                                    label=f"least squares ({w_opt:.1f}, {b_opt:.1f})", zorder=6)
    ax.annotate("epoch 1", (hw[0], hb[0]), xytext=(-8, 10), textcoords="offset points", ha="right",
                fontsize=8.5, color=_SGD)
    ax.set_xlim(w_lo, w_hi)
    ax.set_ylim(b_lo, b_hi)
    ax.set_xlabel("w (weight)")
    ax.set_ylabel("b (intercept)")
    ax.set_title("Loss surface L(w, b) and the path of (w, b)")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.92)
    return artists


def plot_fit(path, x, y, history, *, w0=1.0, b0=1.0, title=None, size=(15, 4.5), dpi=100,
             xlabel="x", ylabel="y", caption=None):
    """Save one PNG of a fit (data and lines | loss per epoch | loss surface with the path) and return path.

    x, y: the 1-D data the neuron was fitted on; history: its Neuron.fit(..., history=True);
    (w0, b0): where the fit started. The image is size·dpi pixels. caption: text under the panels;
    None explains the gap between SGD's end point and the optimum when there is one, "" leaves it out.
    """
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x, y = _data(x, y)
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_data, ax_loss, ax_surf = fig.subplots(1, 3, width_ratios=[1, 1, 1.15])
    draw_data_and_lines(ax_data, x, y, history, xlabel=xlabel, ylabel=ylabel)
    if history.loss is None:  # fit_chunks keeps no loss; the data is here, so compute it
        history = history._replace(loss=epoch_losses(x, y, _cpu(history.w), _cpu(history.b)))
    best = _loss_at(x, y, *least_squares(x, y))
    draw_loss_curve(ax_loss, history, best=best)
    draw_loss_surface(ax_surf, x, y, history, w0=w0, b0=b0)
    fig.suptitle(title or f"One neuron $\\hat{{y}}$ = w·x + b: {len(history.w)} epochs of gradient descent",
                 fontsize=13)
    if caption is None and float(history.loss[-1]) > best * (1 + 1e-3) + 1e-12:
        caption = CAPTION
    if caption:
        fig.supxlabel(caption, fontsize=9.5, color="#333333")
    fig.savefig(path, dpi=dpi)
    return path


def one_more_epoch(x, y, history, *, lr=1.0):
    """(w, b) after each sample of one more per-sample epoch from the fit's end: shape (n + 1,) each, start first.

    The book's update (functional.sgd_step on one sample at a time, in order): where a fixed step lands
    at every sample, not just at the end of the epoch that the history records.
    """
    from .functional import sgd_step

    x, y = _data(x, y)
    hw, hb = _history(history)
    w, b = torch.tensor(hw[-1], dtype=torch.float64), torch.tensor(hb[-1], dtype=torch.float64)
    ws, bs = [w], [b]
    for i in range(len(x)):
        w, b = sgd_step(w, b, x[i:i + 1], y[i:i + 1], lr)
        ws.append(w)
        bs.append(b)
    return torch.stack(ws), torch.stack(bs)


def plot_limit_cycle(path, x, y, history, *, lr=1.0, last=3, size=(13, 4.8), dpi=100, xlabel="x", ylabel="y"):
    """Save a PNG of one more epoch, sample by sample: (w, b) on its cycle | the lines after the last samples.

    For a fit by the book's per-sample steps in order (batch_size=1, no shuffle) with this lr; last ≤ 5.
    """
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x, y = _data(x, y)
    ws, bs = (t.numpy() for t in one_more_epoch(x, y, history, lr=lr))
    xs, ys = x.numpy(), y.numpy()
    w_opt, b_opt = least_squares(x, y)
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_cycle, ax_lines = fig.subplots(1, 2)

    ax_cycle.plot(ws, bs, "-", color="#95a5a6", lw=0.4, zorder=1)
    dots = ax_cycle.scatter(ws[1:], bs[1:], c=range(1, len(ws)), cmap="viridis", s=8, zorder=2)
    fig.colorbar(dots, ax=ax_cycle, pad=0.02, fraction=0.05).set_label("sample number in the epoch")
    ax_cycle.plot(ws[0], bs[0], "o", ms=13, mfc="none", mec=_SGD, mew=2.2, label="epoch start (the fit's end)",
                  zorder=3)
    ax_cycle.plot(ws[-1], bs[-1], "o", ms=5, color=_SGD, label="epoch end", zorder=4)
    ax_cycle.plot(ws.mean(), bs.mean(), "D", ms=8, mfc="white", mec="black",
                  label=f"mean over the epoch ({ws.mean():.1f}, {bs.mean():.1f})", zorder=4)
    ax_cycle.plot(w_opt, b_opt, "*", color="gold", ms=16, mec="black",
                  label=f"least squares ({w_opt:.1f}, {b_opt:.1f})", zorder=5)
    lo, hi = bs.min(), bs.max()
    ax_cycle.set_ylim(lo - 0.05 * (hi - lo), hi + 0.4 * (hi - lo))  # head room for the legend
    ax_cycle.set_xlabel("w (weight)")
    ax_cycle.set_ylabel("b (intercept)")
    ax_cycle.set_title(f"(w, b) after each sample of one more epoch (lr = {lr:g})")
    ax_cycle.legend(loc="upper center", fontsize=8, framealpha=0.95, ncols=2)

    ends = [xs.min(), xs.max()]
    ax_lines.scatter(xs, ys, s=9, color=_DATA, alpha=0.35, linewidths=0, label="data")
    ax_lines.plot(ends, [w_opt * e + b_opt for e in ends], ":", color=_OPT, lw=1.8,
                  label=f"least squares: {_equation(w_opt, b_opt)}")
    colors = ("#16a085", "#2c3e50", "#f39c12", "#8e44ad", _SGD)  # the last sample's line in the fit's red
    n, last = len(xs), max(1, min(last, len(colors), len(xs)))
    for k, color in zip(range(n - last, n), colors[-last:]):
        w, b = ws[k + 1], bs[k + 1]  # (w, b) right after the step on sample k
        ax_lines.plot(ends, [w * e + b for e in ends], color=color, lw=2,
                      label=f"after sample {k + 1}: {_equation(w, b)}")
        ax_lines.plot(xs[k], ys[k], "o", ms=10, color=color, mec="black", zorder=5)
    ax_lines.set_xlabel(xlabel)
    ax_lines.set_ylabel(ylabel)
    ax_lines.set_title(f"The line after each of the last {last} samples (dot: that sample)")
    ax_lines.legend(loc="upper left", fontsize=8, framealpha=0.95)
    fig.suptitle("Why per-sample SGD never settles: each step pulls the line (almost) through the sample it just saw",
                 fontsize=12.5)
    fig.supxlabel("A step on sample i leaves the error there at $err_i\\,(1 - lr\\,(1 + x_i^2))$: "
                  "with lr = 1 and small x that is nearly 0, so (w, b) chases each sample in turn\nand the epoch "
                  "ends wherever the last samples pulled it: the same point every epoch (the limit cycle closes), "
                  "but not the optimum.",
                  fontsize=9.5, color="#333333")
    fig.savefig(path, dpi=dpi)
    return path
