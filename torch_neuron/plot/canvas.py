"""What every picture shares: matplotlib on an Agg canvas, data as float64 CPU copies, number formats,
the least-squares optimum, and the contours of the loss surface.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..training import History, epoch_losses
from ..training import settings as validate
from .fonts import rc_context, set_font
from .labels import words

if TYPE_CHECKING:  # numpy is imported where it is used, as matplotlib is
    import numpy as np

_MISSING = "plotting needs matplotlib: pip install 'torch_neuron[plot]'"
DATA_COLOR, FIRST_COLOR, SGD_COLOR, OPT_COLOR = "#7f8c8d", "#e67e22", "#c0392b", "#1a5276"


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError as e:
        raise ImportError(_MISSING) from e


def new_figure(size: tuple[float, float], dpi: float) -> Any:
    """A constrained-layout Figure on its own Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def cpu64(t: Any) -> torch.Tensor:
    """A float64 CPU copy of a tensor (any device) or array-like: plotting never touches the original."""
    return torch.as_tensor(t).detach().to("cpu", torch.float64).clone()


def numpy64(t: Any) -> "np.ndarray":
    return cpu64(t).numpy()


def checked_data(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = cpu64(x), cpu64(y)
    validate.check_data(x, y, one_dim=True)
    return x, y


def fmt_num(v: float) -> str:
    """Book-sized numbers as integers with thousands separators, small ones with 3 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def equation(w: float, b: float) -> str:
    # the sign inside $…$: the math font has '−', NanumGothic has not (and fallback stops at $…$ texts)
    return f"$\\hat{{y}}$ = {fmt_num(w)}x {'+' if b >= 0 else '$-$'} {fmt_num(abs(b))}"


def history_arrays(history: History) -> tuple["np.ndarray", "np.ndarray"]:
    if len(history.w) == 0:
        raise ValueError("history is empty (a fit of 0 epochs): nothing to draw")
    return numpy64(history.w), numpy64(history.b)


def least_squares(x: Any, y: Any) -> tuple[float, float]:
    """The exact minimiser of mean ½(y − (w·x + b))²: lstsq on the columns [x, 1] → (w, b) as floats."""
    x, y = checked_data(x, y)
    sol = torch.linalg.lstsq(torch.stack([x, torch.ones_like(x)], 1), y[:, None]).solution
    return float(sol[0, 0]), float(sol[1, 0])


def loss_at(x: Any, y: Any, w: float, b: float) -> float:
    wt, bt = (torch.tensor(float(v), dtype=torch.float64) for v in (w, b))
    return float(epoch_losses(*checked_data(x, y), wt, bt))


def span(values: Sequence[float], margin: float = 0.12) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = margin * (hi - lo or abs(hi) or 1.0)
    return lo - pad, hi + pad


def _pale_blues() -> Any:
    # "Blues" at 65% over white, as opaque colours: the same look as alpha=0.65, and a GIF's 256-colour
    # palette need not hold the blends of every contour with everything drawn over it
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap(0.35 + 0.65 * colormaps["Blues"].resampled(256)(range(256))[:, :3])


def draw_contours(
    ax: Any, x: Any, y: Any, ws: Any, bs: Any, *, grid: int = 240, colorbar: bool = True, lang: str = "en"
) -> dict[str, Any]:
    """Contours of L(w, b) = mean ½(y − w·x − b)² over a (w, b) range that holds ws, bs and the optimum.

    Levels are spaced geometrically above the least-squares minimum, so the valley gets as many lines
    as the rim. Returns the artists by name ("filled", "contours"); sets the axes' limits.
    """
    import numpy as np

    xt, yt = checked_data(x, y)
    w_opt, b_opt = least_squares(xt, yt)
    w_lo, w_hi = span([*ws, w_opt])
    b_lo, b_hi = span([*bs, b_opt])
    Wt, Bt = torch.meshgrid(
        torch.linspace(w_lo, w_hi, grid, dtype=torch.float64),
        torch.linspace(b_lo, b_hi, grid, dtype=torch.float64),
        indexing="xy",
    )
    L = epoch_losses(xt, yt, Wt, Bt).numpy()  # the whole grid in one call, O(n + grid²)
    W, B = Wt.numpy(), Bt.numpy()
    best = loss_at(xt, yt, w_opt, b_opt)
    pale = _pale_blues()
    top = max(L.max() - best, 1e-12)
    levels = best + np.geomspace(top * 1e-3, top, 13)
    with rc_context(lang):
        filled = ax.contourf(W, B, L, levels=np.concatenate([[best], levels]), cmap=pale)
        lines = ax.contour(W, B, L, levels=levels, colors="#9aa4ae", linewidths=0.5)
        if colorbar:  # values on a bar, not on the lines, so no label sits on the path
            bar = ax.figure.colorbar(filled, ax=ax, pad=0.02, fraction=0.05)
            bar.set_label(words(lang)["surface_bar"])
            bar.set_ticks(levels[::3], labels=[fmt_num(v) for v in levels[::3]], fontsize=8)
            set_font(bar.ax, lang)
        ax.set_xlim(w_lo, w_hi)
        ax.set_ylim(b_lo, b_hi)
    return {"filled": filled, "contours": lines}
