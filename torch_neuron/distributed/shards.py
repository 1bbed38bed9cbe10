"""One rank's part of the sharded fit: the maps of its shard, cut where batches straddle ranks, and the
samples a shuffled epoch moves between ranks."""

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import torch

from ..engines import scan
from ..training.moments import Moments

if TYPE_CHECKING:
    from .agreement import Settings
    from .group import Comm


@overload
def shard_maps(
    chunks: Iterable[tuple[torch.Tensor, torch.Tensor]],
    s: "Settings",
    lo: int,
    count: int | None,
    n: int | None,
    shape: Callable[[], torch.Size],
) -> torch.Tensor: ...


@overload
def shard_maps(
    chunks: Iterable[tuple[torch.Tensor, torch.Tensor]],
    s: "Settings",
    lo: int,
    count: int | None,
    n: int | None,
    shape: Callable[[], torch.Size | None],
) -> torch.Tensor | None: ...


def shard_maps(  # count, n, shape(): Any here, as mypy cannot see that they are ints and a shape where used
    chunks: Iterable[tuple[torch.Tensor, torch.Tensor]],
    s: "Settings",
    lo: int,
    count: Any,
    n: Any,
    shape: Callable[[], Any],
) -> torch.Tensor | None:
    """(head Mₚ − I, map of the whole batches, tail Mₚ − I) of this rank's shard → (..., 3, 3, 3).

    The shard is [lo, lo + count) of n samples, read from chunks in one pass; count and n are None
    when no batch straddles shards (batch size 1). shape(): the neuron dims, asked once the chunks are read.
    With no samples, the identity and no pieces: never an empty tensor (gloo aborts on those).
    """
    m, lr = s.batch_size, s.lr
    h, t = cuts(lo, lo + count, n, m) if count else (0, count)
    head, tail, pos = [], [], 0

    # the samples in [h, t), streamed; the few before and after are kept aside
    def body() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        nonlocal pos
        for xc, yc in chunks:
            k = xc.shape[-1]
            a, z = min(max(h - pos, 0), k), k if t is None else min(max(t - pos, 0), k)
            if a:
                head.append((xc[..., :a], yc[..., :a]))
            if z > a:
                yield xc[..., a:z], yc[..., a:z]
            if z < k:
                tail.append((xc[..., z:], yc[..., z:]))
            pos += k

    stream = body()
    first = next(stream, None)
    M = scan.chunk_maps(itertools.chain([first], stream), lr, m) if first is not None else None
    if M is None and not head and not tail and shape() is None:
        return None  # fit_chunks without samples here: the agreement tells this rank the neuron dims
    eye = identity(s).expand(*shape(), 3, 3)
    start = lo // m * m
    parts = (
        _piece(head, lr, min(start + m, n) - start, eye) if head else torch.zeros_like(eye),
        M.expand_as(eye) if M is not None else eye,
        _piece(tail, lr, min(lo + t + m, n) - (lo + t), eye) if tail else torch.zeros_like(eye),
    )
    return torch.stack(parts, -3)


def _piece(
    parts: list[tuple[torch.Tensor, torch.Tensor]], lr: float | torch.Tensor, size: int, eye: torch.Tensor
) -> torch.Tensor:
    """Mₚ − I for the samples of a batch of `size` that lie on this rank: their one step at lr·k/size."""
    x, y = (torch.cat(v, -1) for v in zip(*parts))
    k = x.shape[-1]
    return scan.epoch_map(x, y, lr * (k / size), k).expand_as(eye) - eye


def cuts(lo: int, hi: int, n: int, m: int) -> tuple[int, int]:
    """Cut points (h, t) of the shard [lo, hi) of n samples in batches of m, counted from lo.

    [:h] ends a batch begun on an earlier rank, [h:t] holds whole batches, [t:] begins a batch that
    ends on a later rank.
    """
    h = lo if lo % m == 0 else min(hi, lo // m * m + m)
    s = (hi - 1) // m * m  # where the batch of the last sample begins
    t = s if hi > h and min(s + m, n) > hi else hi
    return h - lo, t - lo


def exchange(
    comm: "Comm", x: torch.Tensor, y: torch.Tensor, perm: torch.Tensor, counts: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's places [lo, hi) of an epoch's order, filled with their samples wherever they were → (x, y)."""
    ends = torch.tensor(counts).cumsum(0)
    hi = int(ends[comm.rank])
    lo = hi - counts[comm.rank]
    where = torch.empty_like(perm)
    where[perm] = torch.arange(len(perm))  # the place of each sample in the order
    mine = where[lo:hi]
    send = torch.bincount(torch.searchsorted(ends, mine, right=True), minlength=comm.world)
    source = torch.searchsorted(ends, perm[lo:hi], right=True)  # the rank that holds each place's sample
    recv = torch.bincount(source, minlength=comm.world)
    kx, ky = math.prod(x.shape[:-1]), math.prod(y.shape[:-1])
    # one row per sample, sorted by place, so grouped by the rank that takes it
    rows = torch.cat((x.reshape(kx, x.shape[-1]), y.reshape(ky, y.shape[-1])), 0).T[mine.argsort().to(x.device)]
    got = comm.all_to_all(rows, recv.tolist(), send.tolist())
    placed = torch.empty_like(got)
    placed[source.argsort(stable=True).to(x.device)] = got  # rows arrive by source, each group in place order
    return placed[:, :kx].T.reshape(x.shape), placed[:, kx:].T.reshape(y.shape)


def identity(s: "Settings") -> torch.Tensor:
    return torch.eye(3, dtype=s.dtype, device=s.device)


MOMENTS = 5  # numbers per neuron in Moments.flat()


def moments_row(m: Moments, shape: Sequence[int]) -> torch.Tensor:
    """A shard's Moments as one float64 tensor (..., 7) of the neuron shape, for the gather."""
    return m.flat().expand(*shape, MOMENTS)


def merged(parts: Iterable[tuple[int, torch.Tensor]], shape: Sequence[int]) -> Moments | None:
    """Moments from (n, flat (..., 7) moments) of the ranks with samples, merged in rank order (same bits everywhere)."""
    total = None
    for count, flat in parts:
        part = Moments.from_flat(count, flat.view(*shape, MOMENTS))
        total = part if total is None else total.merge(part)
    return total
