"""The book's loop: one `sgd_step` per (mini-)batch, in order. The bit-exact reference."""

from typing import TYPE_CHECKING, Any

import torch

from ..functional import sgd_step
from .scan import growth

if TYPE_CHECKING:
    from . import Orders


def fit_loop(
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor,
    *,
    epochs: int,
    lr: float | torch.Tensor,
    batch_size: int,
    orders: "Orders",
    progress: Any,
    history: bool,
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None, torch.Tensor]:
    """Per-batch gradient descent, epoch after epoch → (w, b, per-epoch (ws, bs) or None)."""
    n = x.shape[-1]
    ws, bs = [], []
    for e in range(epochs):
        xe, ye = orders.apply(e, x, y)
        for s in range(0, n, batch_size):
            w, b = sgd_step(w, b, xe[..., s : s + batch_size], ye[..., s : s + batch_size], lr)
        if history:
            ws.append(w)
            bs.append(b)
        progress.update(1)
    trajectory = (torch.stack(ws, -1), torch.stack(bs, -1)) if history else None
    return w, b, trajectory, growth(x, y, lr, batch_size, orders, epochs)
