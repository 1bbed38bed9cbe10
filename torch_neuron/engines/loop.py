"""The book's loop: one `sgd_step` per (mini-)batch, in order. The bit-exact reference."""
import torch

from ..functional import sgd_step


def fit_loop(x, y, w, b, *, epochs, lr, batch_size, orders, progress, history=True):
    """Per-batch gradient descent, epoch after epoch → per-epoch w, b of shape (..., epochs).

    The history is kept whatever `history` says: one tensor per epoch costs nothing next to the steps.
    """
    n = x.shape[-1]
    ws, bs = [], []
    for e in range(epochs):
        xe, ye = orders.apply(e, x, y)
        for s in range(0, n, batch_size):
            w, b = sgd_step(w, b, xe[..., s:s + batch_size], ye[..., s:s + batch_size], lr)
        ws.append(w)
        bs.append(b)
        progress.update(1)
    return _stack(ws, w), _stack(bs, b)


def _stack(values, like):
    # epochs = 0 leaves an empty trajectory of the right leading shape
    return torch.stack(values, -1) if values else like.unsqueeze(-1)[..., :0]
