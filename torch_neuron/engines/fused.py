"""A fused Triton kernel for the scan's first stage: one epoch of batch size 1 → one map per neuron.

The torch path in scan.py makes one pass over memory per operation; this kernel reads x and y once,
builds each sample's map in registers and composes a tile of them with an order-keeping associative
scan, so the reduction runs near the card's memory bandwidth. It restates the per-sample map that the
scan reads off functional.sgd_step (tests hold the two equal). Each neuron is one row of x and of y;
a row shared by many neurons is read where it lies (row start repeated: stride 0), never copied.
Used on CUDA, or on CPU under Triton's interpreter (TRITON_INTERPRET=1 before this module is
imported: @triton.jit reads it then); scan.epoch_map decides. Needs Triton.
"""

import os

import torch
import triton
import triton.language as tl

from ..shapes import broadcast_shapes

# Samples per program: on a GPU big enough to amortise the scan, small enough for registers. The
# interpreter runs a scan one lane at a time in Python (~0.5 ms a lane), so there padding is costly,
# and small tiles make small test data cross tiles and fold levels.
TILE = 16 if os.environ.get("TRITON_INTERPRET") == "1" else 2048


@triton.jit
def _then(a1, b1, c1, d1, e1, f1, a2, b2, c2, d2, e2, f2):
    # (2) ∘ (1) = [A₂A₁ | A₂c₁ + c₂], with A = [[a, b], [c, d]] and c = (e, f)
    return (
        a2 * a1 + b2 * c1,
        a2 * b1 + b2 * d1,
        c2 * a1 + d2 * c1,
        c2 * b1 + d2 * d1,
        a2 * e1 + b2 * f1 + e2,
        c2 * e1 + d2 * f1 + f2,
    )


@triton.jit
def _scan_store(a, b, c, d, e, f, out_ptr, row, tile, tiles, TILE: tl.constexpr):
    # compose the tile in order; its last prefix, the whole tile's map, goes to out[row, :, tile]
    # (out is (rows, 6, tiles): the six entries of [A | c] row by row)
    a, b, c, d, e, f = tl.associative_scan((a, b, c, d, e, f), 0, _then)
    last = tl.arange(0, TILE) == TILE - 1
    here = out_ptr + row.to(tl.int64) * 6 * tiles + tile + 0 * tl.arange(0, TILE)
    tl.store(here, a, mask=last)
    tl.store(here + tiles, b, mask=last)
    tl.store(here + 2 * tiles, e, mask=last)
    tl.store(here + 3 * tiles, c, mask=last)
    tl.store(here + 4 * tiles, d, mask=last)
    tl.store(here + 5 * tiles, f, mask=last)


@triton.jit
def _tile_maps(x_ptr, x_rows, x_step, y_ptr, y_rows, y_step, lr_ptr, out_ptr, n, tiles, TILE: tl.constexpr):
    # a flat grid of rows × tiles (CUDA caps grid axes 1 and 2 at 65535, so no axis is spent on rows)
    pid = tl.program_id(0)
    row, tile = pid // tiles, pid % tiles
    offs = tile * TILE + tl.arange(0, TILE)
    inside = offs < n
    offs = offs.to(tl.int64)
    # x_rows[row]: where this neuron's row of x starts (the same start for every neuron sharing it)
    x = tl.load(x_ptr + tl.load(x_rows + row) + offs * x_step, mask=inside, other=0.0)
    y = tl.load(y_ptr + tl.load(y_rows + row) + offs * y_step, mask=inside, other=0.0)
    lr = tl.where(inside, tl.load(lr_ptr), 0.0)  # lr = 0 is the identity map: it pads the last tile
    # one sample's step θ ← θ − lr·(v vᵀθ − y·v), v = (x, 1), as [A | c]
    a = 1 - lr * (x * x)
    b = -(lr * x)
    d = 1 - lr
    e = lr * (x * y)
    f = lr * y
    _scan_store(a, b, b, d, e, f, out_ptr, row, tile, tiles, TILE)


@triton.jit
def _fold_maps(in_ptr, out_ptr, k, tiles, TILE: tl.constexpr):
    # maps (rows, 6, k) → (rows, 6, tiles): one map per tile of TILE consecutive maps of a row
    pid = tl.program_id(0)
    row, tile = pid // tiles, pid % tiles
    offs = tile * TILE + tl.arange(0, TILE)
    inside = offs < k
    src = in_ptr + row.to(tl.int64) * 6 * k + offs
    a = tl.load(src, mask=inside, other=1.0)  # padding is the identity map
    b = tl.load(src + k, mask=inside, other=0.0)
    e = tl.load(src + 2 * k, mask=inside, other=0.0)
    c = tl.load(src + 3 * k, mask=inside, other=0.0)
    d = tl.load(src + 4 * k, mask=inside, other=1.0)
    f = tl.load(src + 5 * k, mask=inside, other=0.0)
    _scan_store(a, b, c, d, e, f, out_ptr, row, tile, tiles, TILE)


def _row_starts(t, lead):
    """Offset of each neuron's row of t (..., n) broadcast to lead, flattened: Σ index·stride (0 if shared)."""
    t = t.expand(*lead, t.shape[-1])
    starts = torch.zeros(lead, dtype=torch.int64, device=t.device)
    for dim, (size, stride) in enumerate(zip(lead, t.stride())):
        starts += torch.arange(size, device=t.device).view(size, *[1] * (len(lead) - dim - 1)) * stride
    return starts.reshape(-1)


def epoch_map(x: torch.Tensor, y: torch.Tensor, lr: float, *, tile: int = TILE) -> torch.Tensor:
    """The map M (..., 3, 3) = [[A, c], [0, 0, 1]] of one epoch of batch size 1 over x, y (..., n), lr a float.

    Neuron dims ... = the broadcast of x's and y's leading dims. Tile maps first, then tiles of
    those, until one map per neuron is left (a few launches in all). tile: a power of two.
    """
    lead = broadcast_shapes(x.shape[:-1], y.shape[:-1])
    n, rows = x.shape[-1], lead.numel()
    M = torch.zeros(*lead, 3, 3, dtype=x.dtype, device=x.device)
    M[..., 2, 2] = 1
    if rows == 0:
        return M
    lr_t = torch.full((1,), lr, dtype=x.dtype, device=x.device)  # a tensor, so float64 keeps its lr exactly
    tiles = -(-n // tile)
    P = torch.empty(rows, 6, tiles, dtype=x.dtype, device=x.device)
    _tile_maps[(rows * tiles,)](
        x, _row_starts(x, lead), x.stride(-1), y, _row_starts(y, lead), y.stride(-1), lr_t, P, n, tiles, TILE=tile
    )
    while P.shape[-1] > 1:
        k, tiles = P.shape[-1], -(-P.shape[-1] // tile)
        out = torch.empty(rows, 6, tiles, dtype=P.dtype, device=P.device)
        _fold_maps[(rows * tiles,)](P, out, k, tiles, TILE=tile)
        P = out
    M[..., :2, :] = P.view(*lead, 2, 3)
    return M
