"""Per-batch SGD as a parallel scan of affine maps: exact up to float rounding, O(log n) depth.

With squared error each step is affine in θ = (w, b): θ ← A·θ + c, with v = (x, 1),
A = I − lr·mean(v vᵀ) and c = lr·mean(y·v) over the batch. A map is the homogeneous matrix
M = [[A, c], [0, 0, 1]] acting on (w, b, 1), so "M₁, then M₂" is the product M₂ @ M₁: an epoch is
a tree of matrix products over its batches, and E epochs are a matrix power (or an inclusive scan,
when the per-epoch history is wanted).

Shapes: a map is (..., 3, 3), the neuron dims leading; a row of k maps in order is (..., k, 3, 3).
On CUDA (or under TRITON_INTERPRET=1), batch size 1 with one float lr goes through a fused Triton
kernel instead (fused.py), which restates the per-sample map; on the CPU, a compiled Numba kernel
(cpu.py) restates the per-batch map, where it pays (kernels.py decides); tests hold the paths equal.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from ..functional import sgd_step
from ..shapes import broadcast_shapes
from .kernels import cpu_kernel, forced_kernel, fused_kernel

if TYPE_CHECKING:
    from . import Orders

STEPS = 32  # CPU: updates run in sequence inside a block before the tree takes over, when …
MIN_LANES = 1024  # … the blocks, times the neurons, still give each vectorised op this many lanes


def _block_rows(x, y, lr):
    # The maps of blocks of consecutive batches, read off `sgd_step` itself: x, y (..., B, q, m) → (3, 3, ..., q),
    # the maps innermost (the tree's layout). Block i runs the batches x[..., 0, i, :], …, x[..., B−1, i, :] in
    # order. For fixed x the update is linear in (w, b, y), so running it from the basis points
    # (w, b, y-scale) = e₁, e₂, e₃ gives the three columns of the block's map: all blocks and neurons at once.
    ndim = len(broadcast_shapes(x.shape[:-3], y.shape[:-3], _shape(lr)))  # the neuron dims
    # The basis (point k = column k) goes in front of every neuron dim, so it never mixes with them,
    # and the block dim stays innermost, so each op runs along unbroken rows.
    w, b, y_scale = torch.eye(3, dtype=x.dtype, device=x.device).view(3, 3, *[1] * (ndim + 1))
    if torch.is_tensor(lr):
        lr = lr.unsqueeze(-1)  # (...) → (..., 1): one lr per neuron, the same for its q blocks
    for j in range(x.shape[-3]):
        w, b = sgd_step(w, b, x[..., j, :, :], y_scale.unsqueeze(-1) * y[..., j, :, :], lr)
    return torch.stack((w, b, y_scale.expand_as(w)))


def fold(maps: list[torch.Tensor]) -> torch.Tensor:
    """Compose a list of maps in order, the first applied first."""
    out = maps[0]
    for M in maps[1:]:
        out = M @ out
    return out


def reduce_maps(M: torch.Tensor) -> torch.Tensor:
    """Compose a row of maps in order, M[..., 0, :, :] first: (..., k, 3, 3) → (..., 3, 3)."""
    return _tree(M.movedim((-2, -1), (0, 1))).movedim((0, 1), (-2, -1))


def _tree(P):
    # (3, 3, ..., k) → (3, 3, ...): log₂ k levels, each composing neighbours as one broadcast product and sum.
    # With the maps innermost every op is a plain vectorised loop; a batched 3×3 matmul took twice as long on CPU.
    k = P.shape[-1]
    pad = (1 << (k - 1).bit_length()) - k
    if pad:  # identities at the end, so every level pairs evenly
        P = torch.cat((P, _eye(P).view(3, 3, *[1] * (P.dim() - 2)).expand(*P.shape[:-1], pad)), -1)
    while P.shape[-1] > 1:
        P = (P[:, :, None, ..., 1::2] * P[None, ..., 0::2]).sum(1)  # Σⱼ second[i, j]·first[j, l]
    return P[..., 0]


def prefix_maps(M: torch.Tensor) -> torch.Tensor:
    """Inclusive scan along dim −3: out[..., e, :, :] = M[e] ∘ … ∘ M[0] (Hillis–Steele)."""
    d = 1
    while d < M.shape[-3]:
        M = torch.cat((M[..., :d, :, :], M[..., d:, :, :] @ M[..., :-d, :, :]), -3)
        d *= 2
    return M


def apply_map(M: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """θ' = A·θ + c for θ = (w, b) → (w', b'), broadcasting M's neuron dims against w's and b's."""
    (a, a2, c), (d, d2, f) = (row.unbind(-1) for row in M[..., :2, :].unbind(-2))
    return a * w + a2 * b + c, d * w + d2 * b + f


def repeat_map(
    M: torch.Tensor, w: torch.Tensor, b: torch.Tensor, *, epochs: int, history: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """(w, b) after `epochs` applications of M, and the per-epoch (ws, bs) (..., epochs) when history, else None.

    The last (w, b) comes from the matrix power whether or not the history is asked for, so asking for it
    never changes the answer; the history's last entry is that same (w, b).
    """
    compiled = forced_kernel(M, w, b) if M.shape[:-2] == w.shape == b.shape else None
    if compiled is not None:  # both with history and without, so the history never changes (w, b)
        w_last, b_last = compiled.repeat_last(M, w, b, epochs)
    else:
        w_last, b_last = apply_map(torch.linalg.matrix_power(M, epochs), w, b)
    if not history:
        return w_last, b_last, None
    if not epochs:
        return w, b, (w.unsqueeze(-1)[..., :0], b.unsqueeze(-1)[..., :0])
    ws, bs = apply_map(
        prefix_maps(M.unsqueeze(-3).expand(*M.shape[:-2], epochs, 3, 3)), w.unsqueeze(-1), b.unsqueeze(-1)
    )
    return w_last, b_last, _ending(ws, bs, w_last, b_last)


def apply_maps(
    maps: torch.Tensor, w: torch.Tensor, b: torch.Tensor, *, history: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """(w, b) after the maps (..., E, 3, 3) in turn, and the (ws, bs) after each when history, else None.

    As in repeat_map, the last (w, b) never depends on whether the history is asked for.
    """
    w_last, b_last = apply_map(reduce_maps(maps), w, b)
    if not history:
        return w_last, b_last, None
    ws, bs = apply_map(prefix_maps(maps), w.unsqueeze(-1), b.unsqueeze(-1))
    return w_last, b_last, _ending(ws, bs, w_last, b_last)


def _ending(ws, bs, w, b):
    # the trajectory with its last entry the (w, b) returned, bit for bit
    return torch.cat((ws[..., :-1], w.unsqueeze(-1)), -1), torch.cat((bs[..., :-1], b.unsqueeze(-1)), -1)


def spectral_radius(M: torch.Tensor) -> torch.Tensor:
    """The largest |eigenvalue| of each map's linear part A (..., 2, 2): above 1, the fit grows without bound."""
    compiled = forced_kernel(M)
    if compiled is not None:
        return compiled.spectral_radius(M)
    (a, a2), (d, d2) = (row.unbind(-1) for row in M[..., :2, :2].unbind(-2))
    half, det = (a + d2) / 2, a * d2 - a2 * d
    disc = half * half - det
    # real eigenvalues half ± √disc, or a complex pair of modulus √det
    return torch.where(disc >= 0, half.abs() + disc.clamp_min(0).sqrt(), det.abs().sqrt())


def epoch_map(
    x: torch.Tensor, y: torch.Tensor, lr: float | torch.Tensor, batch_size: int, *, maps: int = 1
) -> torch.Tensor:
    """The map of one epoch over x, y (..., n) in batches of batch_size (a short last batch included).

    Where a kernel applies it computes the map: fused.py on CUDA, cpu.py on the CPU where it pays (see
    kernels.cpu_kernel; maps: how many maps of data this size the caller makes, one per shuffled epoch, say).
    Else torch ops: on CPU, with many batches or neurons, STEPS updates run in sequence inside blocks
    (vectorised across blocks and neurons) before the tree: fewer passes over memory. On CUDA launches
    cost more than passes, so every level is a tree level.
    """
    fused = fused_kernel(x, y, lr, batch_size)
    if fused is not None:
        return fused.epoch_map(x, y, lr)
    compiled = cpu_kernel(x, y, lr, maps)
    if compiled is not None:
        return compiled.epoch_map(x, y, lr, batch_size)
    return _torch_epoch_map(x, y, lr, batch_size)


def _torch_epoch_map(x, y, lr, batch_size):
    # epoch_map in torch ops: any device and dtype, autograd, functorch transforms
    m = batch_size
    k, tail = divmod(x.shape[-1], m)
    steps = _steps(x, y, lr, k)
    q, r = divmod(k, steps)

    # samples lo … as (..., length steps, count blocks, width)
    def blocks(lo: int, count: int, length: int, width: int) -> list[torch.Tensor]:
        if length == 1:  # one step per block: a view
            return [v[..., lo : lo + count * width].unflatten(-1, (1, count, width)) for v in (x, y)]
        # a contiguous copy, so each step reads one unbroken row
        return [
            v[..., lo : lo + count * length * width]
            .unflatten(-1, (count, length, width))
            .transpose(-3, -2)
            .contiguous()
            for v in (x, y)
        ]

    parts = []
    if q:
        parts.append(_tree(_block_rows(*blocks(0, q, steps, m), lr)))
    if r:  # the batches left over: one block of r steps
        parts.append(_block_rows(*blocks(q * steps * m, 1, r, m), lr)[..., 0])
    if tail:  # the short last batch
        parts.append(_block_rows(*blocks(k * m, 1, 1, tail), lr)[..., 0])
    return fold([P.movedim((0, 1), (-2, -1)) for P in parts])


def growth(
    x: torch.Tensor, y: torch.Tensor, lr: float | torch.Tensor, batch_size: int, orders: "Orders", epochs: int
) -> torch.Tensor:
    """The epoch map's spectral radius (...), the largest over the epochs' orders: the loop engines' divergence test."""
    if not orders.shuffled:
        return spectral_radius(epoch_map(x, y, lr, batch_size))
    radii = [spectral_radius(epoch_map(*orders.apply(e, x, y), lr, batch_size, maps=epochs)) for e in range(epochs)]
    return torch.stack(radii, -1).amax(-1)


def fit_scan(
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
    """Per-epoch maps, then their power (or inclusive scan, for history) applied to (w, b); and their growth."""
    if orders.shuffled:  # each epoch its own order, so its own map
        each = [epoch_map(*orders.apply(e, x, y), lr, batch_size, maps=epochs) for e in range(epochs)]
        maps = torch.stack(each, -3)
        out = (*apply_maps(maps, w, b, history=history), spectral_radius(maps).amax(-1))
    else:
        M = epoch_map(x, y, lr, batch_size)
        out = (*repeat_map(M, w, b, epochs=epochs, history=history), spectral_radius(M))
    progress.update(epochs)
    return out


def chunk_maps(
    chunks: Iterable[tuple[torch.Tensor, torch.Tensor]], lr: float | torch.Tensor, batch_size: int
) -> torch.Tensor:
    """The epoch map of data that arrives in pieces, read once, in order (a batch may span two chunks).

    chunks: an iterable of (x, y) pairs (a DataLoader, say). Each piece's map is composed as it comes,
    so the data is never concatenated or kept.
    """
    M, carry = None, None
    for xc, yc in chunks:
        if carry is not None:  # finish the batch the previous chunk began
            xc, yc = torch.cat((carry[0], xc), -1), torch.cat((carry[1], yc), -1)
        full = xc.shape[-1] - xc.shape[-1] % batch_size
        if full:
            P = epoch_map(xc[..., :full], yc[..., :full], lr, batch_size)
            M = P if M is None else P @ M
        carry = (xc[..., full:], yc[..., full:]) if full < xc.shape[-1] else None
    if carry is not None:
        P = epoch_map(carry[0], carry[1], lr, batch_size)
        M = P if M is None else P @ M
    if M is None:
        raise ValueError("the chunks held no samples")
    return M


def _shape(lr):
    return lr.shape if torch.is_tensor(lr) else ()


def _eye(like):
    return torch.eye(3, dtype=like.dtype, device=like.device)


def _steps(x, y, lr, k):
    """Updates per block for k batches: STEPS on CPU when the blocks still fill MIN_LANES lanes, else 1."""
    if x.is_cuda or k < STEPS:
        return 1
    neurons = broadcast_shapes(x.shape[:-1], y.shape[:-1], _shape(lr)).numel()
    return STEPS if (k // STEPS) * neurons >= MIN_LANES else 1
