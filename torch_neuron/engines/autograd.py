"""The loop again, with gradients from autograd and the step from torch.optim.SGD."""
import torch

from ..functional import forpass, squared_error
from .loop import _stack


def fit_autograd(x, y, w, b, *, epochs, lr, batch_size, orders, progress, history=True):
    """Per-batch SGD where backward() of the mean squared error gives the gradients (history always kept)."""
    if torch.is_tensor(lr):
        raise ValueError("engine='autograd' takes one float lr; "
                         "use engine='loop' or 'scan' for a tensor of learning rates")
    n = x.shape[-1]
    with torch.enable_grad():
        wp = w.detach().clone().requires_grad_(True)
        bp = b.detach().clone().requires_grad_(True)
        opt = torch.optim.SGD([wp, bp], lr=lr)
        ws, bs = [], []
        for e in range(epochs):
            xe, ye = orders.apply(e, x, y)
            for s in range(0, n, batch_size):
                xb, yb = xe[..., s:s + batch_size], ye[..., s:s + batch_size]
                # one independent mean loss per neuron; their sum keeps each gradient separate
                loss = squared_error(yb, forpass(xb, wp.unsqueeze(-1), bp.unsqueeze(-1))).mean(-1).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            ws.append(wp.detach().clone())
            bs.append(bp.detach().clone())
            progress.update(1)
    return _stack(ws, w), _stack(bs, b)
