"""Compiled CPU kernels (Numba) for the scan: the epoch map with x and y read once, and the maps' power.

The same maps as scan.epoch_map (tests hold the two equal). A step θ ← θ − lr·mean(v·(vᵀθ − y)), v = (x, 1),
runs on the three columns of M = [[A, c], [0, 0, 1]] at once (column k starts at e_k; only the third carries
y): with batch size 1 the sample itself, else from the batch's means: A = I − lr·[[x²̄, x̄], [x̄, 1]], c = lr·(xy̅, ȳ).

The work is cut into chains of ≤ BLOCK consecutive samples (whole batches) of one neuron, each run in order
from I, LANES in lockstep (a SIMD lane each); then each neuron's chain maps are composed in order as a tree.
Not one long chain: ~1M contracting steps in a row drive the entries into subnormal numbers, which many CPUs
(Intel's) handle tens of times slower (this Zen 4 does not: one chain of 1M ran as fast at lr = 1 as at 1e-7);
BLOCK steps from I stay far above them whatever the data, and a tree makes only O(log) compositions.

cache=True keeps the compiled code in __pycache__ beside this file; where that is not writable (a read-only
install) Numba uses its user-wide cache ($XDG_CACHE_HOME/numba, else ~/.cache/numba); NUMBA_CACHE_DIR, when
set, comes first. With none writable Numba refuses cache=True, and _jit compiles in each process instead.
"""

import os
import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import torch
from numba import njit, prange

from ..shapes import broadcast_shapes

BLOCK = 512  # samples a chain: far from subnormals whatever the data, long enough to amortise its ends
LANES = 16  # chains in lockstep: two AVX-512 vectors of float64, so two FMA chains in flight
TILE = 16  # samples of each lane copied at a time into the lockstep buffer, transposed
PARALLEL = 1 << 15  # samples × neurons from which threads pay (~50 µs of work; a parallel launch ~10 µs)
_S = 7  # buffer rows: 0–5 the map [A | c] row-major (column k = (w, b) = rows k, 3 + k), 6 the lane's lr
NUMPY = {torch.float32: np.float32, torch.float64: np.float64}


def _jit(**options):
    def wrap(f: Callable[..., Any]) -> Any:  # a Numba dispatcher
        try:
            return njit(cache=True, nogil=True, fastmath={"contract"}, **options)(f)  # contract: FMAs
        except RuntimeError:  # no writable cache directory at all (see above)
            return njit(nogil=True, fastmath={"contract"}, **options)(f)

    return wrap


@_jit()
def _offsets(geo, rows):
    """Where each neuron's row of x, y and lr starts: Σ index·stride over the neuron dims (stride 0: shared)."""
    off = np.zeros((3, rows), np.int64)
    for r in range(rows):
        rest = r
        for d in range(geo.shape[1] - 1, -1, -1):
            i = rest % geo[0, d]
            rest //= geo[0, d]
            for k in range(3):
                off[k, r] += i * geo[k + 1, d]
    return off


@_jit()
def _sample_step(s, j, x, y):
    """Lane j's map, then one sample: each column (w, b) −= lr·(x, 1)·(x·w + b − [third]·y)."""
    lr = s[6, j]
    p = lr * x
    e1, e2, e3 = x * s[0, j] + s[3, j], x * s[1, j] + s[4, j], x * s[2, j] + s[5, j] - y
    s[0, j] -= p * e1
    s[1, j] -= p * e2
    s[2, j] -= p * e3
    s[3, j] -= lr * e1
    s[4, j] -= lr * e2
    s[5, j] -= lr * e3


@_jit()
def _sample_chains(x, y, lr, off, xs, ys, n, blen, c0, nc, P):
    """Chains c0 … c0 + nc − 1 (nc ≤ LANES) of batch size 1 in lockstep → their maps P[c] ([A | c] row-major)."""
    rows = off.shape[1]
    s = np.zeros((_S + 2 * TILE, LANES), x.dtype)  # one array, so LLVM sees no aliasing and vectorises; idle
    xo, yo, ln = np.zeros(LANES, np.int64), np.zeros(LANES, np.int64), np.zeros(LANES, np.int64)  # lanes: lr 0
    common = n
    for j in range(nc):
        i, r = divmod(c0 + j, rows)  # block-major, so lanes side by side have the same length but the last
        lo = i * blen
        ln[j] = min(n, lo + blen) - lo
        xo[j], yo[j] = off[0, r] + lo * xs, off[1, r] + lo * ys
        s[0, j] = s[4, j] = 1
        s[6, j] = lr[off[2, r]]
        common = min(common, ln[j])
    for t0 in range(0, common, TILE):
        tt = min(TILE, common - t0)
        for j in range(nc):
            xj, yj = np.uint64(xo[j] + t0 * xs), np.uint64(yo[j] + t0 * ys)  # unsigned: no negative-index fix-up
            for t in range(tt):
                s[_S + t, j] = x[xj + np.uint64(t * xs)]
                s[_S + TILE + t, j] = y[yj + np.uint64(t * ys)]
        for t in range(tt):
            for j in range(LANES):  # a vector op across the lanes
                _sample_step(s, j, s[_S + t, j], s[_S + TILE + t, j])
    for j in range(nc):
        for t in range(common, ln[j]):  # a lane longer than the others finishes alone
            _sample_step(s, j, x[xo[j] + t * xs], y[yo[j] + t * ys])
        for k in range(6):
            P[c0 + j, k] = s[k, j]


@_jit()
def _batch_chain(x, y, lr, off, xs, ys, n, m, blen, c, P):
    """Chain c in batches of m (the last may be short) → its map P[c]: one step per batch, from its means."""
    i, r = divmod(c, off.shape[1])
    lo, a = i * blen, lr[off[2, r]]
    s = np.zeros(10, x.dtype)  # the map, then the batch's x̄, x²̄, ȳ, xy̅, rounded to the data's dtype
    s[0] = s[4] = 1
    for b0 in range(lo, min(n, lo + blen), m):
        b1 = min(n, b0 + m)
        sx = sxx = sy = sxy = 0.0  # float64 sums: float32 ones over a large batch would lose digits
        for k in range(b0, b1):
            xk, yk = x[off[0, r] + k * xs], y[off[1, r] + k * ys]
            sx += xk
            sxx += xk * xk
            sy += yk
            sxy += xk * yk
        s[6], s[7], s[8], s[9] = sx / (b1 - b0), sxx / (b1 - b0), sy / (b1 - b0), sxy / (b1 - b0)
        for k in range(3):
            gw, gb = s[7] * s[k] + s[6] * s[3 + k], s[6] * s[k] + s[3 + k]
            if k == 2:
                gw, gb = gw - s[9], gb - s[8]
            s[k] -= a * gw
            s[3 + k] -= a * gb
    for k in range(6):
        P[c, k] = s[k]


@_jit()
def _chains(x, y, lr, off, xs, ys, n, m, blen, g, P):
    """Group g: chains g·LANES … of P, in lockstep (batch size 1) or one by one."""
    c0 = g * LANES
    nc = min(LANES, P.shape[0] - c0)
    if m == 1:
        _sample_chains(x, y, lr, off, xs, ys, n, blen, c0, nc, P)
    else:
        for c in range(c0, c0 + nc):
            _batch_chain(x, y, lr, off, xs, ys, n, m, blen, c, P)


@_jit()
def _then(f, s):
    """The 2×3 map [A | c] f (row-major), then s: the entries of s @ f, as a tuple."""
    top = (s[0] * f[0] + s[1] * f[3], s[0] * f[1] + s[1] * f[4], s[0] * f[2] + s[1] * f[5] + s[2])
    return top + (s[3] * f[0] + s[4] * f[3], s[3] * f[1] + s[4] * f[4], s[3] * f[2] + s[4] * f[5] + s[5])


@_jit()
def _fold(P, r, out):
    """Row r's chain maps P[i·rows + r], composed in order as a tree → out[r] (3 × 3)."""
    rows = out.shape[0]
    chains, d = P.shape[0] // rows, 1
    while d < chains:
        for i in range(0, chains - d, 2 * d):
            h = _then(P[i * rows + r], P[(i + d) * rows + r])
            for k in range(6):
                P[i * rows + r, k] = h[k]
        d *= 2
    for k in range(6):
        out[r, k // 3, k % 3] = P[r, k]
    out[r, 2, 0] = out[r, 2, 1] = 0
    out[r, 2, 2] = 1


@_jit()
def _serial(x, y, lr, geo, xs, ys, n, m, blen, chains, out):
    off = _offsets(geo, out.shape[0])
    P = np.empty((chains * out.shape[0], 6), x.dtype)
    for g in range(-(-P.shape[0] // LANES)):
        _chains(x, y, lr, off, xs, ys, n, m, blen, g, P)
    for r in range(out.shape[0]):
        _fold(P, r, out)


@_jit(parallel=True)
def _parallel(x, y, lr, geo, xs, ys, n, m, blen, chains, out):
    off = _offsets(geo, out.shape[0])
    P = np.empty((chains * out.shape[0], 6), x.dtype)
    for g in prange(-(-P.shape[0] // LANES)):  # groups of chains: blocks of one neuron, or many neurons
        _chains(x, y, lr, off, xs, ys, n, m, blen, g, P)
    for r in prange(out.shape[0]):
        _fold(P, r, out)


def epoch_map(x: torch.Tensor, y: torch.Tensor, lr: float | torch.Tensor, batch_size: int) -> torch.Tensor:
    """scan.epoch_map, compiled: x, y (..., n) float32 or float64 on the CPU, lr a float or (...) → (..., 3, 3)."""
    n, dtype = x.shape[-1], NUMPY[x.dtype]
    lr_t = lr.detach().to(x.dtype) if torch.is_tensor(lr) else None
    if lr_t is None and x.dim() == y.dim() == 1:
        lead, geo = torch.Size(), _ONE  # one neuron: no strides to work out (the book's fit, a µs counts)
    else:
        lead = broadcast_shapes(x.shape[:-1], y.shape[:-1], () if lr_t is None else lr_t.shape)
        geo = np.zeros((4, len(lead)), np.int64)  # neuron sizes, then x's, y's, lr's strides (0 where broadcast)
        geo[0] = lead
        dims = (x.shape[:-1], x.stride()[:-1]), (y.shape[:-1], y.stride()[:-1])
        for k, (shape, stride) in enumerate(dims + (() if lr_t is None else ((lr_t.shape, lr_t.stride()),)), 1):
            for d in range(1, len(shape) + 1):
                geo[k, -d] = stride[-d] if shape[-d] > 1 else 0
    rows = lead.numel()
    out = np.empty((rows, 3, 3), dtype)
    if rows:
        m, batches = batch_size, -(-n // batch_size)
        # chains of at most BLOCK samples (whole batches) and at least LANES of them, spread evenly; never
        # depending on the other neurons, so that a neuron's map is the same bits alone or among many
        per = -(-batches // max(-(-batches // max(1, BLOCK // m)), min(batches, LANES)))
        chains, blen = -(-batches // per), per * m
        rates = np.full(1, lr, dtype) if lr_t is None else _flat(lr_t)
        args = _flat(x), _flat(y), rates, geo, x.stride(-1), y.stride(-1), n, m, blen, chains, out
        if rows * n >= PARALLEL and chains * rows > LANES and not _forked and _lock.acquire(blocking=False):
            try:
                threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
                numba.set_num_threads(threads)
                _parallel(*args)
            finally:
                _lock.release()
        else:
            _serial(*args)
    return torch.from_numpy(out.reshape(*lead, 3, 3))


@_jit()
def _power(M, w, b, epochs, wo, bo):
    """(w, b) of each row after M[r] applied `epochs` times (repeated squaring) → wo, bo."""
    for r in range(M.shape[0]):
        one, zero, e = M[r, 2, 2], M[r, 2, 0], epochs  # 1 and 0 in the maps' dtype
        p = (one, zero, zero, zero, one, zero)
        q = (M[r, 0, 0], M[r, 0, 1], M[r, 0, 2]) + (M[r, 1, 0], M[r, 1, 1], M[r, 1, 2])
        while e:
            if e & 1:
                p = _then(p, q)
            q, e = _then(q, q), e >> 1
        wo[r], bo[r] = p[0] * w[r] + p[1] * b[r] + p[2], p[3] * w[r] + p[4] * b[r] + p[5]


@_jit()
def _radius(M, out):
    """The largest |eigenvalue| of each map's A: real ones half ± √disc, or a complex pair of modulus √det."""
    for r in range(M.shape[0]):
        a, a2, d, d2 = M[r, 0, 0], M[r, 0, 1], M[r, 1, 0], M[r, 1, 1]
        half, det = (a + d2) / 2, a * d2 - a2 * d
        disc = half * half - det
        out[r] = abs(half) + np.sqrt(disc) if disc >= 0 else np.sqrt(abs(det))


def repeat_last(M: torch.Tensor, w: torch.Tensor, b: torch.Tensor, epochs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, b) after `epochs` applications of the maps M (..., 3, 3), w and b (...): apply_map(M^epochs, w, b)."""
    wo, bo = np.empty(w.shape, NUMPY[w.dtype]), np.empty(w.shape, NUMPY[w.dtype])
    _power(_c(M, -1, 3, 3), _c(w, -1), _c(b, -1), epochs, wo.reshape(-1), bo.reshape(-1))
    return torch.from_numpy(wo), torch.from_numpy(bo)


def spectral_radius(M: torch.Tensor) -> torch.Tensor:
    """scan.spectral_radius: the largest |eigenvalue| of each map's linear part A, (..., 3, 3) → (...)."""
    out = np.empty(M.shape[:-2], NUMPY[M.dtype])
    _radius(_c(M, -1, 3, 3), out.reshape(-1))  # in float64 (Python's / 2 and sqrt), stored in the maps' dtype
    return torch.from_numpy(out)


def _c(t, *shape):
    """t as a C-contiguous NumPy array of the given shape (a view where it can be: the conversions cost µs)."""
    t = t.detach() if t.requires_grad else t
    return (t if t.is_contiguous() else t.contiguous()).numpy().reshape(shape)


def _flat(t):
    """t's memory as one contiguous 1-D array from its first element: a view, indexed through t's strides."""
    t = t.detach() if t.requires_grad else t
    if t.is_contiguous():
        return t.numpy().reshape(-1)
    return t.as_strided((1 + sum((s - 1) * st for s, st in zip(t.shape, t.stride())),), (1,)).numpy()


_ONE = np.zeros((4, 0), np.int64)  # the neuron dims of one neuron: none
_lock = threading.Lock()  # one parallel launch at a time: Numba's workqueue layer aborts on concurrent ones
_forked: list = []  # non-empty in a forked child: Numba's OpenMP layer kills one that starts a parallel region
os.register_at_fork(after_in_child=lambda: _forked.append(True))
