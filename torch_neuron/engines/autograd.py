"""The loop again, with gradients from autograd and the step from torch.optim.SGD."""

from typing import TYPE_CHECKING, Any

import torch

from ..functional import forpass, squared_error
from .scan import growth

if TYPE_CHECKING:
    from . import Orders


def fit_autograd(
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
    """Per-batch SGD where backward() of the mean squared error gives the gradients → (w, b, (ws, bs) or None)."""
    n = x.shape[-1]
    radius = growth(x, y, lr, batch_size, orders, epochs)
    # inside inference_mode the inputs are inference tensors, which autograd cannot save: plain copies of them
    with torch.inference_mode(False), torch.enable_grad():
        if x.is_inference():
            x, y = x.clone(), y.clone()
        if torch.is_tensor(lr) and lr.is_inference():
            lr = lr.clone()
        wp = w.detach().clone().requires_grad_(True)
        bp = b.detach().clone().requires_grad_(True)
        # lr may be one per neuron: scaling each neuron's loss by its lr lets one SGD(lr=1) step them all
        # (with a float lr of 1, as in the book, the scaling is exact and the steps are the loop's bits)
        opt = torch.optim.SGD([wp, bp], lr=1.0)
        ws, bs = [], []
        for e in range(epochs):
            xe, ye = orders.apply(e, x, y)
            for s in range(0, n, batch_size):
                xb, yb = xe[..., s : s + batch_size], ye[..., s : s + batch_size]
                # one independent mean loss per neuron; their sum keeps each gradient separate
                loss = (lr * squared_error(yb, forpass(xb, wp.unsqueeze(-1), bp.unsqueeze(-1))).mean(-1)).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if history:
                ws.append(wp.detach().clone())
                bs.append(bp.detach().clone())
            progress.update(1)
    trajectory = (torch.stack(ws, -1), torch.stack(bs, -1)) if history else None
    return wp.detach(), bp.detach(), trajectory, radius
