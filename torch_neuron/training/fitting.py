"""fit: per-batch gradient descent for one neuron or many at once, with checked inputs and kept state.

Data flow: inputs checked → engine chosen in one place → new (w, b) → a finiteness check →
returned, or an error that leaves the caller's (w, b) as they were.
"""
import itertools
from typing import NamedTuple, Optional

import torch

from .. import engines
from ..engines.scan import chunk_maps, repeat_map
from ..progress import progress_bar
from ..shapes import broadcast_shapes
from . import settings as validate
from .moments import Moments


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
    """Mean ½(y − ŷ)² over x, y (..., n) for many (w, b) (..., k) at once, in O(n + k) (see Moments.loss)."""
    return Moments.of(x, y).loss(ws, bs)


def fit(x, y, w=1.0, b=1.0, *, epochs=100, lr=1.0, batch_size=1, shuffle=False, seed=0,
        engine="auto", history=False, progress=False, dtype=None, device=None):
    """Fit neurons ŷ = x·w + b by per-batch gradient descent on ½(y − ŷ)², as the book's fit does.

    x, y: (..., n) samples in the last dim; w, b, lr: floats or tensors (...). Every leading dim of
    any of them is one independent neuron (a feature each, a learning-rate sweep, bootstrap resamples …);
    shared data is broadcast, never copied. dtype and device default to the first tensor's.
    Returns FitResult(w, b, history) with w, b of the broadcast neuron shape.
    """
    dtype, device = _dtype_device((x, y, w, b), dtype, device)
    x = validate.as_tensor(x, "x", dtype=dtype, device=device)
    y = validate.as_tensor(y, "y", dtype=dtype, device=device)
    validate.check_data(x, y, one_dim=False)
    return fit_checked(x, y, w, b, epochs=epochs, lr=lr, batch_size=batch_size, shuffle=shuffle, seed=seed,
                       engine=engine, history=history, progress=progress)


def fit_checked(x, y, w, b, *, epochs, lr, batch_size, shuffle, seed, engine, history, progress):
    """fit for x, y already through validate.check_data (Neuron.fit's path): checks the rest, then runs.

    The finiteness of x and y is checked only when the result is not finite: every sample enters
    every epoch, so NaN or inf in the data always reaches w or b, and a finite result proves finite data.
    """
    run = engines.ENGINES[engines.choose_engine(engine)]  # the one place an engine is chosen
    w, b, epochs, lr, batch_size = _checked_settings(w, b, epochs, lr, batch_size, x.dtype, x.device)
    shape = _neuron_shape(x=x.shape[:-1], y=y.shape[:-1], w=w.shape, b=b.shape, lr=_shape(lr))
    w, b = w.expand(shape).clone(), b.expand(shape).clone()  # x, y and lr stay as they are: engines broadcast
    if not epochs:
        validate.check_finite(x, "x")
        validate.check_finite(y, "y")
        trajectory = (w[..., None][..., :0], b[..., None][..., :0])
    else:
        bar = progress_bar(epochs, progress)
        try:
            w, b, trajectory = run(x, y, w, b, epochs=epochs, lr=lr, batch_size=batch_size,
                                   orders=engines.Orders(x.shape[-1], epochs, shuffle, seed), progress=bar,
                                   history=history)
        finally:
            bar.close()
        _check_result(w, b, (x, y), epochs, lr)
    return FitResult(w, b, History(*trajectory, epoch_losses(x, y, *trajectory)) if history else None)


def fit_chunks(chunks, w=1.0, b=1.0, *, epochs=100, lr=1.0, batch_size=1, history=False, dtype=None,
               device=None):
    """Fit on data that arrives in pieces — a DataLoader or any iterable of (x, y) — read once, in order.

    The same result as `fit` on the whole data (engine 'scan', no shuffle), without concatenating it.
    dtype and device default to the first chunk's. The history's loss comes from moments merged chunk by
    chunk (Moments), so the data is not kept.
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        raise ValueError("the chunks held no samples")
    dtype, device = _dtype_device((*first, w, b), dtype, device)
    chunks = itertools.chain([first], chunks)
    w, b, epochs, lr, batch_size = _checked_settings(w, b, epochs, lr, batch_size, dtype, device)
    moments = []

    def checked():
        for i, (xc, yc) in enumerate(chunks):
            xc = validate.as_tensor(xc, f"x of chunk {i}", dtype=dtype, device=device)
            yc = validate.as_tensor(yc, f"y of chunk {i}", dtype=dtype, device=device)
            validate.check_data(xc, yc, one_dim=False)
            validate.check_finite(xc, f"x of chunk {i}")  # one sync per chunk: the chunks are not kept
            validate.check_finite(yc, f"y of chunk {i}")
            if history:
                m = Moments.of(xc, yc)
                moments[:] = [moments[0].merge(m) if moments else m]
            yield xc, yc

    M = chunk_maps(checked(), lr, batch_size)
    shape = _neuron_shape(data=M.shape[:-2], w=w.shape, b=b.shape, lr=_shape(lr))
    w, b = w.expand(shape).clone(), b.expand(shape).clone()
    w, b, trajectory = repeat_map(M, w, b, epochs=epochs, history=history)
    _check_result(w, b, (), epochs, lr)
    return FitResult(w, b, History(*trajectory, moments[0].loss(*trajectory)) if history else None)


def _checked_settings(w, b, epochs, lr, batch_size, dtype, device):
    """w, b as tensors of dtype on device, and epochs, lr, batch_size checked (validate names any problem)."""
    return (validate.as_tensor(w, "w", dtype=dtype, device=device),
            validate.as_tensor(b, "b", dtype=dtype, device=device),
            validate.check_epochs(epochs),
            validate.check_lr(lr, dtype=dtype, device=device),
            validate.check_batch_size(batch_size))


def _shape(lr):
    return lr.shape if torch.is_tensor(lr) else ()


def _neuron_shape(**shapes):
    """The neurons' shape: the broadcast of every leading shape (decided here, once, for every engine)."""
    try:
        return broadcast_shapes(*shapes.values())
    except RuntimeError:
        shown = ", ".join(f"{name} {tuple(s)}" for name, s in shapes.items())
        raise ValueError(f"the neuron dims do not broadcast: {shown}") from None


def _dtype_device(values, dtype, device):
    """As given, else those of the first tensor among values (a float dtype only), else the defaults."""
    like = next((t for t in values if torch.is_tensor(t)), None)
    if device is None:
        device = like.device if like is not None else "cpu"
    if dtype is None:
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
    return dtype, torch.device(device)


def _check_result(w, b, data, epochs, lr):
    """Raise unless every w, b is finite (the one host sync of a fit): name bad data, else TrainingDiverged."""
    if bool(torch.isfinite(torch.stack((w, b))).all()):
        return
    for t, name in zip(data, ("x", "y")):
        validate.check_finite(t, name)
    shown = f"{lr:g}" if isinstance(lr, float) else "a tensor of learning rates"
    raise TrainingDiverged(f"training diverged: w or b became inf or NaN within {epochs} epochs at lr={shown}; "
                           "try a smaller lr (the old w and b are kept)")
