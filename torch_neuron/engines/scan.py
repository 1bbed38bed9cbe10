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


def step_maps(x, y, lr):
    """[A | c] of each batch, read off `sgd_step` by linearity: x, y (..., k, m) → P (2, 3, ..., k).

    The step is linear in (w, b, y) for fixed x, so column j of [A | c] is the step applied to
    basis point j: (w, b, y) = (1, 0, 0), (0, 1, 0) and (0, 0, y).
    """
    if torch.is_tensor(lr) and lr.dim():  # one lr per neuron (...) → (..., 1) across the k batches
        lr = lr.unsqueeze(-1)
    (a, c), (b, d), (e, f) = (sgd_step(1.0, 0.0, x, 0.0, lr), sgd_step(0.0, 1.0, x, 0.0, lr),
                              sgd_step(0.0, 0.0, x, y, lr))
    shape = torch.broadcast_shapes(a.shape, b.shape, c.shape, d.shape, e.shape, f.shape)
    return torch.stack([t.expand(shape) for t in (a, b, e, c, d, f)]).unflatten(0, (2, 3))


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


def epoch_map(x, y, lr, batch_size):
    """The map of one epoch over x, y (..., n) in batches of batch_size (a short last batch included)."""
    fused = _fused_kernel(x, lr, batch_size)
    if fused is not None:
        return fused.epoch_map(x, y, lr)
    n = x.shape[-1]
    k, tail = divmod(n, batch_size)
    parts = []
    if k:  # (..., k, batch_size): one map per full batch, then the tree
        parts.append(reduce_maps(step_maps(x[..., :k * batch_size].unflatten(-1, (k, batch_size)),
                                           y[..., :k * batch_size].unflatten(-1, (k, batch_size)), lr)))
    if tail:
        short = k * batch_size
        parts.append(step_maps(x[..., short:].unsqueeze(-2), y[..., short:].unsqueeze(-2), lr)[..., 0])
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
