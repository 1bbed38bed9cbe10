"""fit: per-batch gradient descent for one neuron or many at once, with checked inputs and kept state.

Data flow: inputs checked → engine chosen in one place → new (w, b) → a finiteness check →
returned, or an error that leaves the caller's (w, b) as they were.
"""
import itertools
from typing import NamedTuple, Optional

import torch

from . import engines, validate
from .progress import progress_bar


class History(NamedTuple):
    """Per-epoch trajectory, each of shape (..., epochs): w, b and the mean loss after each epoch."""
    w: torch.Tensor
    b: torch.Tensor
    loss: Optional[torch.Tensor]


class FitResult(NamedTuple):
    """The fitted w, b (...) and, when asked for, the History."""
    w: torch.Tensor
    b: torch.Tensor
    history: Optional[History]


class TrainingDiverged(FloatingPointError):
    """w or b became inf or NaN during fit; the neuron keeps its old values."""


def epoch_losses(x, y, ws, bs):
    """Mean ½(y − ŷ)² over x, y (..., n) for many (w, b) (..., k) at once, in O(n + k).

    L = ½[(w·x̄ + b − ȳ)² + var(x)·(w − ŵ)² + r], ŵ the least-squares slope and r its mean squared
    residual: three non-negative terms, so nothing cancels, and a loss curve costs no pass per epoch.
    """
    xm, ym = x.mean(-1, keepdim=True), y.mean(-1, keepdim=True)
    dx, dy = x - xm, y - ym
    vxx, cxy = (dx * dx).mean(-1, keepdim=True), (dx * dy).mean(-1, keepdim=True)
    slope = torch.where(vxx > 0, cxy / torch.where(vxx > 0, vxx, 1), 0)
    r = ((dy - slope * dx) ** 2).mean(-1, keepdim=True)
    return 0.5 * ((ws * xm + bs - ym) ** 2 + vxx * (ws - slope) ** 2 + r)


def fit(x, y, w=1.0, b=1.0, *, epochs=100, lr=1.0, batch_size=1, shuffle=False, seed=0,
        engine="auto", history=False, progress=False, dtype=None):
    """Fit neurons ŷ = x·w + b by per-batch gradient descent on ½(y − ŷ)², as the book's fit does.

    x, y: (..., n) samples in the last dim; w, b, lr: floats or tensors (...) — every leading dim is
    one independent neuron (a feature each, a learning-rate sweep, bootstrap resamples …).
    Returns FitResult(w, b, history) with w, b of the broadcast leading shape.
    """
    dtype, device = _dtype_device((x, y, w, b), dtype, None)
    x = validate.as_tensor(x, "x", dtype=dtype, device=device)
    y = validate.as_tensor(y, "y", dtype=dtype, device=device)
    validate.check_data(x, y, one_dim=False)
    return fit_checked(x, y, w, b, epochs=epochs, lr=lr, batch_size=batch_size, shuffle=shuffle, seed=seed,
                       engine=engine, history=history, progress=progress)


def fit_checked(x, y, w, b, *, epochs, lr, batch_size, shuffle, seed, engine, history, progress):
    """fit for data already checked by validate.check_data (Neuron.fit's path): checks the rest, then runs."""
    w, b, epochs, lr, batch_size = _checked_settings(w, b, epochs, lr, batch_size, x.dtype, x.device)
    engines.choose_engine(engine)

    lead = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1], w.shape, b.shape,
                                  lr.shape if torch.is_tensor(lr) else ())
    # x and y stay as they are: the engines broadcast them, so shared data is not copied per neuron
    w, b = w.expand(lead).clone(), b.expand(lead).clone()
    lr = lr.expand(lead) if torch.is_tensor(lr) else lr  # one per neuron, so engines see the leading shape

    bar = progress_bar(epochs, progress)
    try:
        ws, bs = engines.run(engine, x, y, w, b, epochs=epochs, lr=lr, batch_size=batch_size,
                             shuffle=shuffle, seed=seed, progress=bar, history=history)
    finally:
        bar.close()
    w_new, b_new = _last_finite(ws, bs, w, b, epochs, lr)
    hist = History(ws, bs, epoch_losses(x, y, ws, bs)) if history else None
    return FitResult(w_new, b_new, hist)


def fit_chunks(chunks, w=1.0, b=1.0, *, epochs=100, lr=1.0, batch_size=1, history=False, dtype=None,
               device=None):
    """Fit on data that arrives in pieces — a DataLoader or any iterable of (x, y) — read once, in order.

    The same result as `fit` on the whole data (engine 'scan', no shuffle), without concatenating it.
    dtype and device default to the first chunk's. History, when asked for, has w and b only
    (loss None): the data is not kept.
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        raise ValueError("the chunks held no samples")
    dtype, device = _dtype_device((*first, w, b), dtype, device)
    chunks = itertools.chain([first], chunks)
    w, b, epochs, lr, batch_size = _checked_settings(w, b, epochs, lr, batch_size, dtype, device)

    def checked():
        for i, (xc, yc) in enumerate(chunks):
            xc = validate.as_tensor(xc, f"x of chunk {i}", dtype=dtype, device=device)
            yc = validate.as_tensor(yc, f"y of chunk {i}", dtype=dtype, device=device)
            validate.check_data(xc, yc, one_dim=False)
            yield xc, yc

    ws, bs = engines.fit_scan_chunks(checked(), w, b, epochs=epochs, lr=lr, batch_size=batch_size,
                                     progress=progress_bar(0, False), history=history)
    w_new, b_new = _last_finite(ws, bs, w, b, epochs, lr)
    return FitResult(w_new, b_new, History(ws, bs, None) if history else None)


def _checked_settings(w, b, epochs, lr, batch_size, dtype, device):
    """w, b as tensors of dtype on device, and epochs, lr, batch_size checked (validate names any problem)."""
    return (validate.as_tensor(w, "w", dtype=dtype, device=device),
            validate.as_tensor(b, "b", dtype=dtype, device=device),
            validate.check_epochs(epochs),
            validate.check_lr(lr, dtype=dtype, device=device),
            validate.check_batch_size(batch_size))


def _dtype_device(values, dtype, device):
    """As given, else those of the first tensor among values (a float dtype only), else the defaults."""
    like = next((t for t in values if torch.is_tensor(t)), None)
    if device is None:
        device = like.device if like is not None else "cpu"
    if dtype is None:
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
    return dtype, torch.device(device)


def _last_finite(ws, bs, w, b, epochs, lr):
    """The last epoch's w, b — or TrainingDiverged if any is inf or NaN (the one host sync of a fit)."""
    w_new, b_new = (ws[..., -1], bs[..., -1]) if epochs else (w, b)
    if not bool(torch.isfinite(w_new).all() & torch.isfinite(b_new).all()):
        shown = f"{lr:g}" if isinstance(lr, float) else "a tensor of learning rates"
        raise TrainingDiverged(f"training diverged: w or b became inf or NaN within {epochs} epochs at lr={shown}; "
                               "try a smaller lr (the old w and b are kept)")
    return w_new, b_new
