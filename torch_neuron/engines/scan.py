"""Per-batch SGD as a parallel scan of affine maps: exact up to float rounding, O(log n) depth.

With squared error each step is affine in θ = (w, b): θ ← A·θ + c, with v = (x, 1),
A = I − lr·mean(v vᵀ) and c = lr·mean(y·v) over the batch. Maps compose associatively,
(A₂, c₂)∘(A₁, c₁) = (A₂A₁, A₂c₁ + c₂), so an epoch is a tree reduction over its batches
and E epochs are an inclusive scan over the epoch maps.

A map is a tensor P of shape (2, 3, ...): P[i, j] is row i of [A | c], one map per trailing index.
On CUDA, 1-D data with batch size 1 is reduced by a fused Triton kernel instead (fused.py).
"""
import os

import torch

from ..functional import sgd_step

STEPS = 32  # CPU only: updates run in sequence inside a block, when that leaves at least …
MIN_BLOCKS = 1024  # … this many blocks (counted over all neurons) to vectorise across


def block_maps(x, y, lr):
    """[A | c] of blocks of consecutive batches, read off `sgd_step` itself: x, y (..., B, q, m) → P (2, 3, ..., q).

    Block i runs batches x[..., 0, i, :], …, x[..., B-1, i, :] in order. The update is linear in
    (w, b, y) for fixed x, so running a block's B steps from the basis points (w, b, y-scale) =
    (1, 0, 0), (0, 1, 0), (0, 0, 1) gives the columns of its [A | c] — all blocks at once.
    """
    lead = x.dim() - 3  # neuron dims; lr may have more than the data (one lr per neuron, shared data)
    if torch.is_tensor(lr) and lr.dim():
        lead = max(lead, lr.dim())
        lr = lr.unsqueeze(-1)  # (...) → (..., 1) across the q blocks
    basis = torch.eye(3, dtype=x.dtype, device=x.device).view(3, 3, *([1] * (lead + 1)))
    w, b, y_scale = basis[:, 0], basis[:, 1], basis[:, 2].unsqueeze(-1)
    for j in range(x.shape[-3]):
        w, b = sgd_step(w, b, x[..., j, :, :], y_scale * y[..., j, :, :], lr)
    return torch.stack((w, b))


def step_maps(x, y, lr):
    """[A | c] of each batch: x, y (..., k, m) → P (2, 3, ..., k) (blocks of one step)."""
    return block_maps(x.unsqueeze(-3), y.unsqueeze(-3), lr)


def compose(second, first):
    """second ∘ first, elementwise over trailing dims: [A₂A₁ | A₂c₁ + c₂]."""
    out = torch.addcmul(second[:, 0:1] * first[0:1], second[:, 1:2], first[1:2])
    out[:, 2] += second[:, 2]
    return out


def reduce_maps(P):
    """Compose maps along the last dim in order (P[..., 0] first): (2, 3, ..., k) → (2, 3, ...)."""
    identity = torch.eye(2, 3, dtype=P.dtype, device=P.device).view(2, 3, *([1] * (P.dim() - 2)))
    while P.shape[-1] > 1:
        if P.shape[-1] % 2:  # one identity map at the end, so the level pairs evenly
            P = torch.cat((P, identity.expand(*P.shape[:-1], 1)), -1)
        P = compose(P[..., 1::2], P[..., 0::2])
    return P[..., 0]


def fold(maps):
    """Compose a list of maps (2, 3, ...) in order, the first applied first."""
    out = maps[0]
    for P in maps[1:]:
        out = compose(P, out)
    return out


def _fused_kernel(x, lr, batch_size):
    """The Triton module when it applies (1-D CUDA data, float lr, batch_size 1, Triton installed), else None."""
    if batch_size != 1 or x.dim() != 1 or not isinstance(lr, float):
        return None
    if not (x.is_cuda or os.environ.get("TRITON_INTERPRET") == "1") or os.environ.get("TORCH_NEURON_NO_TRITON"):
        return None
    if torch._C._functorch.is_functorch_wrapped_tensor(x):  # under vmap/grad: a kernel can't see the batch
        return None
    try:
        from . import fused
    except ImportError:  # no Triton: the torch path below does the same work
        return None
    return fused


def _steps(x, lr, k):
    """Updates per block for k batches: STEPS on CPU when the blocks still fill MIN_BLOCKS lanes, else 1."""
    if x.is_cuda or k < STEPS:
        return 1
    neurons = max(x[..., 0].numel(), lr.numel() if torch.is_tensor(lr) else 1)
    return STEPS if (k // STEPS) * neurons >= MIN_BLOCKS else 1


def epoch_map(x, y, lr, batch_size):
    """The map of one epoch over x, y (..., n) in batches of batch_size (a short last batch included).

    On CPU, with many batches or many neurons, STEPS updates run in sequence inside blocks
    (vectorised across blocks and neurons) before the tree takes over: fewer passes over memory.
    On CUDA launches cost more than passes, so every level is a tree level (or the fused kernel
    does it all).
    """
    fused = _fused_kernel(x, lr, batch_size)
    if fused is not None:
        return fused.epoch_map(x, y, lr)
    m = batch_size
    k, tail = divmod(x.shape[-1], m)
    steps = _steps(x, lr, k)
    q, r = divmod(k, steps)

    def blocks(lo, count, length, width):  # samples lo … as (..., length steps, count blocks, width)
        # a contiguous copy, so each step reads one unbroken row
        return [v[..., lo:lo + count * length * width].unflatten(-1, (count, length, width)).transpose(-3, -2)
                .contiguous() for v in (x, y)]

    parts = []
    if q:
        parts.append(reduce_maps(block_maps(*blocks(0, q, steps, m), lr)))
    if r:  # the batches left over: one block of r steps
        parts.append(block_maps(*blocks(q * steps * m, 1, r, m), lr)[..., 0])
    if tail:  # the short last batch
        parts.append(block_maps(*blocks(k * m, 1, 1, tail), lr)[..., 0])
    return fold(parts)


def prefix_maps(P):
    """Inclusive scan along the last dim: out[..., e] = P[..., e] ∘ … ∘ P[..., 0] (Hillis–Steele)."""
    d = 1
    while d < P.shape[-1]:
        P = torch.cat((P[..., :d], compose(P[..., d:], P[..., :-d])), -1)
        d *= 2
    return P


def apply_map(P, w, b):
    """θ' = A·θ + c for θ = (w, b) → (w', b')."""
    return P[0, 0] * w + P[0, 1] * b + P[0, 2], P[1, 0] * w + P[1, 1] * b + P[1, 2]


def power_map(P, e):
    """P∘P∘…∘P (e times; e = 0 gives the identity), by torch.linalg.matrix_power on [[A, c], [0, 1]]."""
    bottom = P.new_zeros(*P.shape[2:], 1, 3)
    bottom[..., 2] = 1  # filled on the device: a host-made tensor would be a copy, and a sync, on CUDA
    H = torch.cat((P.movedim((0, 1), (-2, -1)), bottom), -2)  # (..., 3, 3) homogeneous form
    return torch.linalg.matrix_power(H, e)[..., :2, :].movedim((-2, -1), (0, 1))


def repeat_map(M, w, b, *, epochs, history):
    """(w, b) after each of `epochs` applications of M → (..., epochs); (..., 1), the last, without history."""
    if not history:  # only the last epoch is wanted: square the map instead of scanning
        wE, bE = apply_map(power_map(M, epochs), w, b)
        return wE.unsqueeze(-1), bE.unsqueeze(-1)
    return apply_map(prefix_maps(M.unsqueeze(-1).expand(*M.shape, epochs)), w.unsqueeze(-1), b.unsqueeze(-1))


def fit_scan(x, y, w, b, *, epochs, lr, batch_size, orders, progress, history=True):
    """Per-epoch maps, then their inclusive scan applied to (w, b) → per-epoch w, b (..., epochs)."""
    if orders.shuffled and epochs:  # each epoch its own order, so its own map
        maps = torch.stack([epoch_map(*orders.apply(e, x, y), lr, batch_size) for e in range(epochs)], -1)
        ws, bs = apply_map(prefix_maps(maps), w.unsqueeze(-1), b.unsqueeze(-1))
    else:
        ws, bs = repeat_map(epoch_map(x, y, lr, batch_size), w, b, epochs=epochs, history=history)
    progress.update(epochs)
    return ws, bs


def fit_scan_chunks(chunks, w, b, *, epochs, lr, batch_size, progress, history=True):
    """Fit on data that arrives in pieces: compose each chunk's map in order, never concatenating the data.

    chunks: an iterable of (x, y) pairs (a DataLoader, say), read once; a batch may span two chunks.
    """
    maps, carry = [], None
    for xc, yc in chunks:
        if carry is not None:  # finish the batch the previous chunk began
            xc, yc = torch.cat((carry[0], xc), -1), torch.cat((carry[1], yc), -1)
        full = xc.shape[-1] - xc.shape[-1] % batch_size
        if full:
            maps.append(epoch_map(xc[..., :full], yc[..., :full], lr, batch_size))
        carry = (xc[..., full:], yc[..., full:]) if full < xc.shape[-1] else None
    if carry is not None:
        maps.append(epoch_map(carry[0], carry[1], lr, batch_size))
    if not maps:
        raise ValueError("the chunks held no samples")
    ws, bs = repeat_map(fold(maps), w, b, epochs=epochs, history=history)
    progress.update(epochs)
    return ws, bs
