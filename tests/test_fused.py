"""The fused Triton kernel: one epoch's map per neuron, equal to the torch path it replaces, for every shape.

It runs where the kernel can: on CUDA, or on CPU in Triton's interpreter. TRITON_INTERPRET=1 must be
set before torch_neuron.engines.fused is imported (@triton.jit reads it then), so it is set for the
whole pytest run: `TRITON_INTERPRET=1 python -m pytest -m fused`, as `make test` does.
Comparisons are per neuron and norm-wise: max|Δ| ≤ rtol·max|expected| over the neuron's 3×3 map.
"""

import importlib.util
import itertools
import os

import pytest
import torch
from helpers import F64, random_data

from torch_neuron.engines import scan
from torch_neuron.functional import sgd_step

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = "cpu" if INTERPRET else "cuda"

pytestmark = [
    pytest.mark.fused,
    pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed"),
    pytest.mark.skipif(
        not INTERPRET and not torch.cuda.is_available(),
        reason="the kernel needs CUDA, or TRITON_INTERPRET=1 for Triton's interpreter on CPU",
    ),
]

# (x's leading dims, y's leading dims): who carries the neurons
SHAPES = {
    "one neuron": ((), ()),
    "shared x, one y per neuron": ((), (3,)),
    "one x per neuron, shared y": ((3,), ()),
    "x and y per neuron": ((3,), (3,)),
    "crossed: x (2, 1), y (1, 3)": ((2, 1), (1, 3)),
    "size-1 dims: x (1,), y (2, 1, 3)": ((1,), (2, 1, 3)),
    "three dims: x (2, 1, 1), y (1, 2)": ((2, 1, 1), (1, 2)),
}
# (n, tile): one sample; less than, exactly and just over a tile; tiles folded once, twice, three times
SIZES = [(1, 4), (3, 4), (4, 4), (5, 4), (16, 4), (17, 4), (37, 4), (70, 4)]


@pytest.fixture(scope="module")
def fused():
    from torch_neuron.engines import fused

    return fused


def data(x_lead, y_lead, n, seed=0, dtype=F64):
    x = random_data(seed, *x_lead, n)[0]
    y = random_data(seed + 1, *y_lead, n)[1]
    return x.to(DEVICE, dtype), y.to(DEVICE, dtype)


def torch_path(x, y, lr, monkeypatch):
    """scan.epoch_map with the kernel turned off: the maps read off sgd_step, composed in a tree."""
    with monkeypatch.context() as m:
        m.setenv("TORCH_NEURON_NO_TRITON", "1")
        return scan.epoch_map(x, y, lr, 1)


def assert_maps_close(got, want, rtol):
    assert got.shape == want.shape, f"shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    err, scale = (got - want).abs().flatten(-2).amax(-1), want.abs().flatten(-2).amax(-1)
    assert bool((err <= rtol * scale).all()), f"max relative error per neuron {(err / scale).max().item():.3g}"


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_kernel_equals_the_torch_path_for_every_shape(fused, monkeypatch, shape):
    """(..., 3, 3) with ... = the broadcast of x's and y's leading dims; float64 within 1e-12 of the torch path."""
    x, y = data(*shape, 37, seed=1)
    got = fused.epoch_map(x, y, 0.7, tile=4)
    assert got.shape == (*torch.broadcast_shapes(shape[0], shape[1]), 3, 3) and got.dtype == F64
    assert_maps_close(got, torch_path(x, y, 0.7, monkeypatch), 1e-12)


@pytest.mark.parametrize("n, tile", SIZES)
def test_kernel_equals_the_torch_path_for_every_size(fused, monkeypatch, n, tile):
    """Shared x, one y per neuron: a last tile padded with identities, and the fold levels above it."""
    x, y = data((), (3,), n, seed=n)
    assert_maps_close(fused.epoch_map(x, y, 0.7, tile=tile), torch_path(x, y, 0.7, monkeypatch), 1e-12)


def test_default_tile(fused, monkeypatch):
    """The tile scan.epoch_map gets (2048 on a GPU, 16 in the interpreter): several of them, padded."""
    x, y = data((2,), (), 3 * fused.TILE + 1, seed=9)
    assert_maps_close(fused.epoch_map(x, y, 0.7), torch_path(x, y, 0.7, monkeypatch), 1e-12)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_kernel_map_applied_is_one_epoch_of_sgd_step(fused, shape):
    """M·(w, b, 1) = the book's loop over the samples in order, for a different (w, b) per neuron."""
    n = 37
    x, y = data(*shape, n, seed=5)
    M = fused.epoch_map(x, y, 0.9, tile=4)
    g = torch.Generator().manual_seed(5)
    w0, b0 = (torch.randn(M.shape[:-2], generator=g, dtype=F64).to(DEVICE) for _ in range(2))
    w, b = w0, b0
    for i in range(n):
        w, b = sgd_step(w, b, x[..., i : i + 1], y[..., i : i + 1], 0.9)
    got = (M @ torch.stack((w0, b0, torch.ones_like(w0)), -1).unsqueeze(-1)).squeeze(-1)
    assert_maps_close(got[..., :2].unsqueeze(-1), torch.stack((w, b), -1).unsqueeze(-1), 1e-12)
    assert torch.equal(M[..., 2, :], torch.tensor([0.0, 0.0, 1.0], dtype=F64, device=DEVICE).expand_as(M[..., 2, :]))


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_each_neuron_gets_its_own_rows(fused, shape):
    """Neuron i's map is, bit for bit, the map of its own rows of x and y fitted alone (no y[0] for everyone)."""
    x, y = data(*shape, 21, seed=2)
    M = fused.epoch_map(x, y, 0.5, tile=4)
    neurons = M.shape[:-2]
    xe, ye = x.expand(*neurons, 21), y.expand(*neurons, 21)
    for i in itertools.product(*map(range, neurons)):
        assert torch.equal(M[i], fused.epoch_map(xe[i].clone(), ye[i].clone(), 0.5, tile=4)), f"neuron {i}"


def test_shared_and_strided_rows_are_read_in_place(fused):
    """Broadcast rows (stride 0) and a transposed x (sample stride ≠ 1) give the maps of contiguous copies."""
    x, y = data((), (4,), 20, seed=3)
    xt = random_data(4, 20, 4)[0].to(DEVICE).T  # (4, 20), samples 4 apart in memory
    assert xt.stride(-1) != 1
    for xs in (x.expand(4, 20), xt):
        assert torch.equal(fused.epoch_map(xs, y, 0.8, tile=8), fused.epoch_map(xs.contiguous(), y, 0.8, tile=8))


def test_float32_within_float32_rounding(fused, monkeypatch):
    """float32 in, float32 maps out, within 1e-5 of the float64 torch path (the lr is kept as a float32 tensor)."""
    x, y = data((), (3,), 300, seed=4, dtype=torch.float32)
    got = fused.epoch_map(x, y, 0.7, tile=16)
    assert got.dtype == torch.float32
    assert_maps_close(got.double(), torch_path(x.double(), y.double(), 0.7, monkeypatch), 1e-5)


def test_no_neurons_no_launch(fused):
    x, y = data((0,), (), 5)
    assert fused.epoch_map(x, y, 0.5).shape == (0, 3, 3)


@pytest.mark.parametrize("shape", [((), ()), ((), (3,)), ((2, 1), (1, 3))])
def test_the_scan_takes_the_kernel_for_batch_size_1_and_a_float_lr(fused, monkeypatch, shape):
    """scan.epoch_map hands exactly those epochs to the kernel: its maps, bit for bit; others keep the torch path."""
    x, y = data(*shape, 40, seed=6)
    assert torch.equal(scan.epoch_map(x, y, 0.7, 1), fused.epoch_map(x, y, 0.7))
    lr = torch.full(torch.broadcast_shapes(shape[0], shape[1]), 0.7, dtype=F64, device=DEVICE)
    for args in ((x, y, 0.7, 2), (x, y, lr, 1)):
        with monkeypatch.context() as m:
            m.setattr(fused, "epoch_map", None)  # a call would raise
            assert scan.epoch_map(*args).shape[-2:] == (3, 3)
