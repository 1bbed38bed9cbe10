"""The exact sharded fit: each rank of a torch.distributed group holds a contiguous piece of the data,
and every rank returns the one-process fit of all of it, the same bits on every rank.

An epoch of per-batch SGD is one affine map of θ = (w, b) (engines/scan.py). Each rank sends the map
of its shard; every rank composes them in rank order and applies the result `epochs` times: 3×3
numbers per neuron and rank, whatever n and the epochs. A batch that straddles shards steps by
lr·(Σ over its pieces of the gradient sums)/m, so its map is I + Σₚ(Mₚ − I), with Mₚ the step over
piece p alone at lr·kₚ/m: each rank sends Mₚ − I for its (at most two) straddling pieces, and no
sample moves. With shuffle each epoch has one global order, the one-process fit's (engines.Orders,
same seed): every sample moves to the rank that holds its place in that order (all_to_all_single).
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist

from .. import engines
from ..engines import scan
from ..training import settings
from ..training.chunks import Chunks
from ..training.fitting import FitResult, History, check_result, neuron_shape
from ..training.moments import Moments
from .agreement import DTYPES, Settings, agree_on
from .group import ERRORS, Comm, traffic
from .shards import MOMENTS, cuts, exchange, identity, merged, moments_row, shard_maps


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
    history: bool = False,
    dtype: torch.dtype | None = None,
    device: Any = None,
    on_divergence: str = "raise",
    group: "dist.ProcessGroup | None" = None,
) -> FitResult:
    """Fit on data sharded over the ranks of `group` → the fit of the shards concatenated in rank order.

    Call it on every rank with that rank's contiguous shard x, y (..., n_r): rank 0 holds the first
    samples; shards may be uneven or empty; leading dims are neurons, as in torch_neuron.fit.
    Returns the same FitResult on every rank. Bad data or settings on any rank make every rank raise
    the same error, naming the rank. Sent per rank (counted in `traffic`): a status record and three
    3×3 maps per neuron, whatever n and the epochs; with shuffle also, every epoch, the samples that
    change rank: O(n) per epoch. dtype, device and on_divergence: as torch_neuron.fit's.
    """
    comm = Comm(group, device if device is not None else x.device if torch.is_tensor(x) else "cpu")
    traffic.reset()
    error = s = shape = None
    try:
        named = dict(x=x, y=y, w=w, b=b, lr=lr)
        dtype = settings.fit_dtype(named, dtype)
        device = settings.fit_device(named, device, dtype=dtype)
        x = settings.as_tensor(x, "x", dtype=dtype, device=device)
        y = settings.as_tensor(y, "y", dtype=dtype, device=device)
        _check_shard(x, y)
        shuffle, seed = settings.check_flag(shuffle, "shuffle"), settings.check_seed(seed)
        s = Settings(
            w,
            b,
            epochs,
            lr,
            batch_size,
            dtype,
            device,
            history,
            on_divergence,
            shuffle,
            seed,
            x.shape[:-1],
            y.shape[:-1],
        )
        shape = neuron_shape(x=x.shape[:-1], y=y.shape[:-1], lr=s.lr_shape)
    except ERRORS as e:
        error = e
    code = DTYPES.index(s.dtype) + 1 if s is not None else 0
    counts, _, _ = agree_on(comm, error, x.shape[-1] if shape is not None else 0, s.key if s else 0, shape, code)
    assert s is not None and shape is not None  # else _agree_on raised, on every rank
    if not any(counts):
        raise ValueError(f"every rank's shard is empty ({comm.world} ranks): nothing to fit")
    lo, n = sum(counts[: comm.rank]), sum(counts)
    if not shuffle:
        pieces = shard_maps([(x, y)], s, lo, counts[comm.rank], n, lambda: shape)
    else:  # every epoch: this rank's places in that epoch's order, filled with their samples, then their maps
        orders = engines.Orders(n, s.epochs, True, seed)
        maps = [
            shard_maps([exchange(comm, x, y, orders.perm(e), counts)], s, lo, counts[comm.rank], n, lambda: shape)  # type: ignore[arg-type]
            for e in range(s.epochs)
        ]
        pieces = torch.stack(maps, -4) if maps else torch.zeros(*shape, 0, 3, 3, 3, dtype=dtype, device=device)
    moments = moments_row(Moments.of(x, y), shape) if history and x.shape[-1] else None
    return _finish(comm, pieces, moments, counts, s, shape)


def fit_chunks(
    chunks: Any,
    *,
    w: Any = 1.0,
    b: Any = 1.0,
    n: int | Callable[[], int] | None = None,
    epochs: int = 100,
    lr: Any = 1.0,
    batch_size: int = 1,
    history: bool = False,
    dtype: torch.dtype | None = None,
    device: Any = None,
    on_divergence: str = "raise",
    group: "dist.ProcessGroup | None" = None,
) -> FitResult:
    """fit for a shard that arrives in pieces, an iterable of (x, y) read once in order: memory per chunk.

    The chunks go through the pipeline of torch_neuron.fit_chunks (training/chunks.py); dtype: as given,
    else that of the ranks' first non-empty chunks (a rank without samples takes theirs).
    n: the samples this rank's chunks hold (or a function that counts them), needed up front when
    batch_size > 1 on several ranks (it places the batch boundaries), and checked against the chunks.
    No shuffle: that needs the data in memory (fit).
    """
    comm, error, s, reader = Comm(group, device if device is not None else "cpu"), None, None, None
    traffic.reset()
    try:
        reader = Chunks(chunks, dict(w=w, b=b, lr=lr), dtype=dtype, device=device, moments=history, empty_ok=True)
        s = Settings(w, b, epochs, lr, batch_size, reader.dtype, reader.device, history, on_divergence)
        n = n() if callable(n) else n  # inside the agreement: a failure to count is every rank's error
        if n is None and s.batch_size > 1 and comm.world > 1:
            raise ValueError("fit_chunks needs n, this rank's sample count, when batch_size > 1 on several ranks")
    except ERRORS as e:
        error = e
    code = DTYPES.index(reader.dtype) + 1 if reader is not None and (dtype is not None or not reader.empty) else 0
    # n is still the counting function when Chunks() or n() raised: send -1, and the error, not the function
    count = -1 if n is None or callable(n) else n
    counts, _, agreed = agree_on(comm, error, count, s.key if s else 0, None, code)
    assert reader is not None and s is not None and not callable(n)  # else _agree_on raised, on every rank
    if agreed is not None and reader.dtype != agreed:  # no samples here: the dtype of the ranks with samples
        reader.dtype = agreed
        s = Settings(w, b, epochs, lr, batch_size, agreed, reader.device, history, on_divergence)
    reader.setting_shapes, reader.limit = dict(w=s.w.shape, b=s.b.shape, lr=s.lr_shape), n
    placed = n is not None and s.batch_size > 1  # else no batch straddles shards, and positions do not matter
    lo, total = (sum(counts[: comm.rank]), sum(counts)) if placed else (0, None)
    error, pieces = None, None
    try:
        pieces = shard_maps(reader, s, lo, n if placed else None, total, lambda: reader.shape)
        if n is not None and reader.count != n:
            raise ValueError(f"the chunks held {reader.count} samples, not n={n}")
    except (ValueError, TypeError, OSError) as e:  # bad data or an unreadable file; anything else is a bug
        error = e
    counts, shape, _ = agree_on(comm, error, reader.count, 0, reader.shape if reader.count else None)
    if shape is None:
        raise ValueError(f"the chunks of every rank ({comm.world} ranks) held no samples: nothing to fit")
    if pieces is None:
        pieces = shard_maps([], s, 0, 0, 1, lambda: shape)
    # with history, every chunk with samples went into reader.moments
    moments = moments_row(reader.moments, shape) if history and reader.count else None  # type: ignore[arg-type]
    return _finish(comm, pieces.expand(*shape, 3, 3, 3), moments, counts, s, shape)


def _check_shard(x: torch.Tensor, y: torch.Tensor) -> None:
    """settings.check_data, except that a shard may be empty; and finite (checked here, before any collective)."""
    settings.check_data(x, y, empty_ok=True)
    settings.check_finite(x, "x")
    settings.check_finite(y, "y")


def _finish(
    comm: Comm, pieces: torch.Tensor, moments: torch.Tensor | None, counts: list[int], s: Settings, shape: torch.Size
) -> FitResult:
    """Gather every rank's pieces (and moments), compose the epoch maps in rank order, apply them to (w, b)."""
    n, m = sum(counts), s.batch_size
    final = neuron_shape(data=shape, w=s.w.shape, b=s.b.shape)
    w, b = s.w.expand(final).clone(), s.b.expand(final).clone()
    if not s.epochs:  # nothing to gather: every rank knows (w, b) already
        empty = w[..., None][..., :0]
        return FitResult(w, b, History(empty, empty.clone(), empty.clone()) if s.history else None)
    # moments are float64 (moments.py): with them the payload is float64, and float32 maps pass through exactly
    payload = pieces.reshape(-1) if moments is None else torch.cat((pieces.reshape(-1).double(), moments.reshape(-1)))
    if s.history and moments is None:  # no samples here: a rank's payloads must have one size
        payload = torch.cat((payload, payload.new_zeros(shape.numel() * MOMENTS)))
    rows = [r.to(s.device) for r in comm.all_gather(payload)]
    k = pieces.numel()
    eye = identity(s)
    M, open_batch, lo = None, None, 0  # open_batch: Σ(Mₚ − I) of a batch begun on an earlier rank
    for r, count in enumerate(counts):
        if count:
            head, body, tail = rows[r][:k].to(pieces.dtype).view(pieces.shape).unbind(-3)
            h, t = cuts(lo, lo + count, n, m)
            if h:
                open_batch = head if open_batch is None else open_batch + head
                if min(lo // m * m + m, n) <= lo + count:  # that batch ends on this rank
                    M, open_batch = _then(M, open_batch + eye), None
            if t > h:
                M = _then(M, body)
            if t < count:
                open_batch = tail
            lo += count
    assert M is not None  # some rank has samples (agreed on above)
    if pieces.dim() - len(shape) == 3:  # one epoch map, the same every epoch
        w, b, trajectory = scan.repeat_map(M, w, b, epochs=s.epochs, history=s.history)
        radius = scan.spectral_radius(M)
    else:  # shuffled: a map per epoch, (..., epochs, 3, 3)
        w, b, trajectory = scan.apply_maps(M, w, b, history=s.history)
        radius = scan.spectral_radius(M).amax(-1)
    # every rank's data is finite (agreed on above): what is not finite, or grows, diverged
    w, b, trajectory = check_result(w, b, trajectory, radius.expand(final), s.o)
    if not s.history:
        return FitResult(w, b, None)
    total = merged([(c, row[k:]) for c, row in zip(counts, rows) if c], shape)
    assert total is not None  # some rank has samples (agreed on above)
    # mypy reads *trajectory (Any) and one more argument as one too many
    return FitResult(w, b, History(*trajectory, total.loss(*trajectory)))  # type: ignore[call-arg]


def gather_moments(
    m: Moments | None, shape: Sequence[int] = (), *, device: Any = "cpu", group: "dist.ProcessGroup | None" = None
) -> Moments | None:
    """Every rank's Moments of neuron shape `shape` (m None: no samples there), merged: the same on every rank."""
    row = torch.zeros(0 if m is None else 1, 1 + MOMENTS * math.prod(shape), dtype=torch.float64)
    if m is not None:
        row[0, 0], row[0, 1:] = m.n, moments_row(m, shape).reshape(-1)
    rows = Comm(group).gather_rows(row).to(device=device)
    return merged([(int(r[0]), r[1:]) for r in rows], shape) if len(rows) else None


def _then(M: torch.Tensor | None, step: torch.Tensor) -> torch.Tensor:
    return step if M is None else step @ M
