"""The book's loop: one `sgd_step` per (mini-)batch, in order. The bit-exact reference."""

import torch

from ..functional import sgd_step
from .scan import growth


def fit_loop(x, y, w, b, *, epochs, lr, batch_size, orders, progress, history):
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
