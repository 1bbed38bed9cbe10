"""A fused CUDA kernel (Triton) for the scan's first stage: each tile of samples → one affine map.

The torch path in scan.py makes one pass over memory per operation; this kernel reads x and y once,
builds each sample's map [A | c] in registers and composes a tile of them with an order-keeping
associative scan, so the reduction runs near the card's memory bandwidth. It restates the per-sample
map that scan.step_maps reads off functional.sgd_step (tests hold the two equal), for batch_size 1.
Imported only for 1-D CUDA data with a float lr (scan.epoch_map decides); needs Triton.
"""
import torch
import triton
import triton.language as tl

TILE = 2048  # samples per program: big enough to amortise the scan, small enough for registers


@triton.jit
def _then(a1, b1, c1, d1, e1, f1, a2, b2, c2, d2, e2, f2):
    # (2) ∘ (1) = [A₂A₁ | A₂c₁ + c₂], with A = [[a, b], [c, d]] and c = (e, f)
    return (a2 * a1 + b2 * c1, a2 * b1 + b2 * d1, c2 * a1 + d2 * c1, c2 * b1 + d2 * d1,
            a2 * e1 + b2 * f1 + e2, c2 * e1 + d2 * f1 + f2)


@triton.jit
def _scan_store(a, b, c, d, e, f, out_ptr, pid, tiles, TILE: tl.constexpr):
    # compose the tile in order and store its last prefix, the whole tile's map, as out[:, :, pid]
    a, b, c, d, e, f = tl.associative_scan((a, b, c, d, e, f), 0, _then)
    last = tl.arange(0, TILE) == TILE - 1
    here = out_ptr + pid + 0 * tl.arange(0, TILE)
    tl.store(here, a, mask=last)
    tl.store(here + tiles, b, mask=last)
    tl.store(here + 2 * tiles, e, mask=last)
    tl.store(here + 3 * tiles, c, mask=last)
    tl.store(here + 4 * tiles, d, mask=last)
    tl.store(here + 5 * tiles, f, mask=last)


@triton.jit
def _tile_maps(x_ptr, y_ptr, lr_ptr, out_ptr, n, tiles, TILE: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * TILE + tl.arange(0, TILE)
    inside = offs < n
    x = tl.load(x_ptr + offs, mask=inside, other=0.0)
    y = tl.load(y_ptr + offs, mask=inside, other=0.0)
    lr = tl.where(inside, tl.load(lr_ptr), 0.0)  # lr = 0 is the identity map: it pads the last tile
    # one sample's step θ ← θ − lr·(v vᵀθ − y·v), v = (x, 1), as [A | c]
    a = 1 - lr * (x * x)
    b = -(lr * x)
    d = 1 - lr
    e = lr * (x * y)
    f = lr * y
    _scan_store(a, b, b, d, e, f, out_ptr, pid, tiles, TILE)


@triton.jit
def _fold_maps(in_ptr, out_ptr, k, tiles, TILE: tl.constexpr):
    # maps in (2, 3, k) layout → one map per tile of TILE consecutive maps
    pid = tl.program_id(0)
    offs = pid * TILE + tl.arange(0, TILE)
    inside = offs < k
    a = tl.load(in_ptr + offs, mask=inside, other=1.0)  # padding is the identity map
    b = tl.load(in_ptr + k + offs, mask=inside, other=0.0)
    e = tl.load(in_ptr + 2 * k + offs, mask=inside, other=0.0)
    c = tl.load(in_ptr + 3 * k + offs, mask=inside, other=0.0)
    d = tl.load(in_ptr + 4 * k + offs, mask=inside, other=1.0)
    f = tl.load(in_ptr + 5 * k + offs, mask=inside, other=0.0)
    _scan_store(a, b, c, d, e, f, out_ptr, pid, tiles, TILE)


def _launch(kernel, k, like, *args):
    tiles = -(-k // TILE)
    out = torch.empty(2, 3, tiles, dtype=like.dtype, device=like.device)
    kernel[(tiles,)](*args, out, k, tiles, TILE=TILE)
    return out


def tile_maps(x, y, lr):
    """Maps of consecutive tiles of TILE samples: x, y (n,) → P (2, 3, ceil(n / TILE)), in order."""
    lr_t = torch.full((1,), lr, dtype=x.dtype, device=x.device)  # a tensor, so float64 keeps its lr exactly
    return _launch(_tile_maps, x.shape[0], x, x.contiguous(), y.contiguous(), lr_t)


def epoch_map(x, y, lr):
    """The epoch's map (2, 3): tile maps, then tiles of those, until one is left (a few launches in all)."""
    P = tile_maps(x, y, lr)
    while P.shape[-1] > 1:
        P = _launch(_fold_maps, P.shape[-1], P, P)
    return P[..., 0]
