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
    a, b, c, d, e, f = tl.associative_scan((a, b, b, d, e, f), 0, _then)
    last = tl.arange(0, TILE) == TILE - 1  # the scan's last element is the whole tile's map
    here = out_ptr + pid + 0 * offs
    tl.store(here, a, mask=last)
    tl.store(here + tiles, b, mask=last)
    tl.store(here + 2 * tiles, e, mask=last)
    tl.store(here + 3 * tiles, c, mask=last)
    tl.store(here + 4 * tiles, d, mask=last)
    tl.store(here + 5 * tiles, f, mask=last)


def tile_maps(x, y, lr):
    """Maps of consecutive tiles of TILE samples: x, y (n,) → P (2, 3, ceil(n / TILE)), in order."""
    n = x.shape[0]
    tiles = -(-n // TILE)
    out = torch.empty(2, 3, tiles, dtype=x.dtype, device=x.device)
    lr_t = torch.full((1,), lr, dtype=x.dtype, device=x.device)  # a tensor, so float64 keeps its lr exactly
    _tile_maps[(tiles,)](x.contiguous(), y.contiguous(), lr_t, out, n, tiles, TILE=TILE)
    return out
