"""fit: per-batch gradient descent for one neuron or many at once, through the front door, with kept state.

Data flow: arguments through the front door (settings.py) → engine chosen in one place → new (w, b) →
one check of finiteness and of growth (the epoch map's spectral radius) → returned, or an error that
leaves the caller's (w, b) as they were.
"""

import math
from typing import Any, NamedTuple

import torch

from .. import engines
from ..engines.scan import spectral_radius
from ..progress import progress_bar
from ..shapes import broadcast_shapes
from . import settings
from .chunks import Chunks
from .divergence import TrainingDiverged, diverged_neurons, divergence_message
from .moments import epoch_losses


class History(NamedTuple):
    """Per-epoch trajectory, each of shape (..., epochs): w, b and the mean loss after each epoch."""

    w: torch.Tensor
    b: torch.Tensor
    loss: torch.Tensor


class FitResult(NamedTuple):
    """The fitted w, b (...) and, when asked for, the History."""

    w: torch.Tensor
    b: torch.Tensor
    history: History | None


class Options(NamedTuple):
    """The settings every fit shares, checked: w, b and lr as tensors of the fit's dtype and device."""

    w: torch.Tensor
    b: torch.Tensor
    epochs: int
    lr: float | torch.Tensor
    batch_size: int
    history: bool
    on_divergence: str

    @property
    def lr_shape(self) -> torch.Size:
        return self.lr.shape if torch.is_tensor(self.lr) else torch.Size()


def check_options(
    w: Any,
    b: Any,
    *,
    epochs: Any,
    lr: Any,
    batch_size: Any,
    history: Any,
    on_divergence: Any,
    dtype: torch.dtype,
    device: torch.device,
) -> Options:
    """The shared settings through the front door, each named in its error."""
    return Options(
        settings.check_start(w, "w", dtype=dtype, device=device),
        settings.check_start(b, "b", dtype=dtype, device=device),
        settings.check_int(epochs, "epochs", 0),
        settings.check_lr(lr, dtype=dtype, device=device),
        settings.check_int(batch_size, "batch_size", 1),
        settings.check_flag(history, "history"),
        settings.check_choice(on_divergence, "on_divergence", settings.ON_DIVERGENCE),
    )


def fit(
    x: Any,
    y: Any,
    *,
    w: Any = 1.0,
    b: Any = 1.0,
    epochs: int = 100,
    lr: Any = 1.0,
    batch_size: int = 1,
    shuffle: bool = False,
    seed: int = 0,
    engine: str = "auto",
    history: bool = False,
    progress: bool = False,
    dtype: torch.dtype | None = None,
    device: Any = None,
    on_divergence: str = "raise",
) -> FitResult:
    """Fit neurons ŷ = x·w + b by per-batch gradient descent on ½(y − ŷ)², as the book's fit does.

    x, y: (..., n), samples in the last dim; w, b, lr: numbers or (...). Every leading dim of any of them
    is one independent neuron (a feature each, an lr sweep, bootstrap resamples …); shared data is
    broadcast, never copied. dtype: PyTorch's promotion over x, y, w, b and lr (ints → the default float),
    or float32/float64 as given; device: the tensors', or as given (the data is moved there).
    on_divergence: 'raise' (TrainingDiverged) or 'nan' (diverged neurons come back as NaN, the rest fitted).
    """
    named = dict(x=x, y=y, w=w, b=b, lr=lr)
    dtype = settings.fit_dtype(named, dtype)
    device = settings.fit_device(named, device, dtype=dtype)
    x = settings.as_tensor(x, "x", dtype=dtype, device=device)
    y = settings.as_tensor(y, "y", dtype=dtype, device=device)
    settings.check_data(x, y)
    options = check_options(
        w,
        b,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        history=history,
        on_divergence=on_divergence,
        dtype=dtype,
        device=device,
    )
    return run_fit(
        x,
        y,
        options,
        shuffle=settings.check_flag(shuffle, "shuffle"),
        seed=settings.check_seed(seed),
        engine=settings.check_choice(engine, "engine", settings.ENGINE_NAMES),
        progress=settings.check_flag(progress, "progress"),
    )


@torch.no_grad()
def run_fit(
    x: torch.Tensor, y: torch.Tensor, o: Options, *, shuffle: bool, seed: int, engine: str, progress: bool
) -> FitResult:
    """fit for arguments through the front door (fit's and Neuron.fit's path): the engine, then the checks.

    The data's finiteness is checked only when the result is not finite: every sample enters every epoch,
    so NaN or inf in the data always reaches w or b, and a finite result proves finite data.
    """
    run = engines.ENGINES[engines.choose_engine(engine)]  # the one place an engine is chosen
    shape = neuron_shape(x=x.shape[:-1], y=y.shape[:-1], w=o.w.shape, b=o.b.shape, lr=o.lr_shape)
    w, b = o.w.expand(shape).clone(), o.b.expand(shape).clone()  # x, y and lr stay as they are: engines broadcast
    if not o.epochs:
        for t, name in ((x, "x"), (y, "y"), (o.w, "w"), (o.b, "b")):
            settings.check_finite(t, name)
        trajectory = (w[..., None][..., :0], b[..., None][..., :0])
    else:
        bar = progress_bar(o.epochs, progress)
        try:
            w, b, traj, radius = run(
                x,
                y,
                w,
                b,
                epochs=o.epochs,
                lr=o.lr,
                batch_size=o.batch_size,
                orders=engines.Orders(x.shape[-1], o.epochs, shuffle, seed),
                progress=bar,
                history=o.history,
            )
        finally:
            bar.close()
        w, b, trajectory = check_result(w, b, traj, radius, o, data=(x, y))
    return FitResult(w, b, History(*trajectory, epoch_losses(x, y, *trajectory)) if o.history else None)


def neuron_shape(**shapes: tuple[int, ...]) -> torch.Size:
    """The neurons' shape: the broadcast of every leading shape (decided here, once, for every engine)."""
    try:
        return broadcast_shapes(*shapes.values())
    except RuntimeError:
        shown = ", ".join(f"{name} {tuple(s)}" for name, s in shapes.items())
        raise ValueError(f"the neuron dims do not broadcast: {shown}") from None


def check_result(
    w: torch.Tensor,
    b: torch.Tensor,
    trajectory: Any,
    radius: torch.Tensor,
    o: Options,
    data: tuple[torch.Tensor, ...] = (),
) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """(w, b, trajectory) if every neuron converged; else TrainingDiverged, or NaN for those neurons ('nan').

    A neuron diverges when its epoch map grows (spectral radius above 1 beyond rounding), whether or not
    w or b has overflowed yet, or when w or b is not finite. One host sync, whatever the outcome.
    """
    tolerance = math.sqrt(torch.finfo(w.dtype).eps)
    bad = ~(torch.isfinite(w + b) & (radius <= 1 + tolerance))  # a NaN radius (an overflowed map) is bad too
    if not bool(bad.any()):
        return w, b, trajectory
    finite = torch.isfinite(w) & torch.isfinite(b)
    bad = ~finite | ~(radius <= 1 + tolerance)
    if not bool(finite.all()):  # NaN or inf in the inputs reach every neuron that sees them: name them first
        for t, name in (*zip(data, ("x", "y")), (o.w, "w"), (o.b, "b")):
            settings.check_finite(t, name)
    if o.on_divergence == "nan":
        nan = torch.full_like(w, math.nan)
        w, b = torch.where(bad, nan, w), torch.where(bad, nan, b)
        if trajectory is not None:
            trajectory = tuple(torch.where(bad[..., None], math.nan, t) for t in trajectory)
        return w, b, trajectory
    neurons, total = diverged_neurons(bad, radius, w, b, o.lr)
    raise TrainingDiverged(divergence_message(neurons, total, bad.dim() > 0, o.epochs), neurons, total)


def fit_chunks(
    chunks: Any,
    *,
    w: Any = 1.0,
    b: Any = 1.0,
    epochs: int = 100,
    lr: Any = 1.0,
    batch_size: int = 1,
    history: bool = False,
    dtype: torch.dtype | None = None,
    device: Any = None,
    on_divergence: str = "raise",
) -> FitResult:
    """Fit on data that arrives in pieces (a DataLoader, any iterable of (x, y)), read once, in order.

    The same result as `fit` on the whole data (engine 'scan', no shuffle), without concatenating it.
    dtype and device: as given, else those of the first non-empty chunk with w, b and lr (fit's rules).
    Empty chunks are skipped; the first non-empty chunk fixes the neuron dims. The history's loss comes
    from moments merged chunk by chunk, so the data is not kept.
    """
    with torch.no_grad():
        reader = Chunks(chunks, dict(w=w, b=b, lr=lr), dtype=dtype, device=device, moments=history)
        o = check_options(
            w,
            b,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            history=history,
            on_divergence=on_divergence,
            dtype=reader.dtype,
            device=reader.device,
        )
        reader.setting_shapes = dict(w=o.w.shape, b=o.b.shape, lr=o.lr_shape)
        M = engines.scan.chunk_maps(reader, o.lr, o.batch_size)
        shape = neuron_shape(data=M.shape[:-2], w=o.w.shape, b=o.b.shape, lr=o.lr_shape)
        w0, b0 = o.w.expand(shape).clone(), o.b.expand(shape).clone()
        w, b, trajectory = engines.scan.repeat_map(M, w0, b0, epochs=o.epochs, history=o.history)
        if o.epochs:
            w, b, trajectory = check_result(w, b, trajectory, spectral_radius(M).expand(shape), o)
        if not o.history:
            return FitResult(w, b, None)
        assert trajectory is not None and reader.moments is not None  # both kept when history is asked for
        ws, bs = trajectory
        return FitResult(w, b, History(ws, bs, reader.moments.loss(ws, bs)))
