"""Self-check rows for the engines: the loop against the book's own Python code and against autograd, the scan
against the loop, and on CUDA the device against the CPU."""

import contextlib
import math
import os

import torch

import torch_neuron as tn

from ..book import book_fit
from ..engines import kernels
from .gradient_checks import N_RANDOM, float64_device, hand_gradients, random_values
from .selfcheck import CheckResult, compare

EPOCHS = 20  # engine comparisons on the book's 442 samples: 8,840 steps at batch 1
FEW_EPOCHS = 5  # the autograd engine at batch 1 (~0.5 ms a step on a CPU core): 2,210 steps
ENGINE_TOL = 1024  # eps, for two engines that round differently: see engine_checks


def _trajectory(x, y, engine, epochs, **kw):
    """(w, b) after each epoch, shape (2, epochs); all NaN when the fit diverges (a failed check, not a crash)."""
    try:
        h = tn.fit(x, y, engine=engine, epochs=epochs, history=True, **kw).history
    except tn.TrainingDiverged:
        return torch.full((2, epochs), math.nan, dtype=torch.float64)
    return torch.stack((h.w, h.b))


def _book_loop(xs, ys, epochs):
    """The source text's fit in plain Python floats: (w, b) after each epoch, (2, epochs)."""
    return torch.tensor(book_fit(xs, ys, epochs), dtype=torch.float64).T


def engine_checks(device: torch.device, dtype: torch.dtype) -> list[CheckResult]:
    """The engines on the book's data (x = bmi, y = target), epoch by epoch: the loop against the book's own
    Python code and against autograd (independent of sgd_step), then the scan against the loop."""
    ds = tn.load_diabetes()
    x, y = (t.to(device=device, dtype=dtype) for t in (ds.data[:, 2], ds.target))
    eps = torch.finfo(dtype).eps
    shuffled = dict(batch_size=32, shuffle=True, seed=1)
    loop, loop_shuffled = _trajectory(x, y, "loop", EPOCHS), _trajectory(x, y, "loop", EPOCHS, **shuffled)
    results = []

    # The loop vs the book's code in Python floats: the same IEEE float64 ops in the same order, so bit for bit.
    where = float64_device(device)
    loop64 = (
        loop if dtype == torch.float64 else _trajectory(ds.data[:, 2].to(where), ds.target.to(where), "loop", EPOCHS)
    )
    note = "" if dtype == torch.float64 else ", float64"
    results.append(
        compare(
            f"loop engine vs the book's Python code ({EPOCHS} epochs{note})",
            loop64,
            _book_loop(ds.data[:, 2].tolist(), ds.target.tolist(), EPOCHS),
            0.0,
            catches="any change to forpass, backprop, sgd_step or the loop at batch 1, to the last bit",
            blind_to="mini-batches and shuffled orders",
        )
    )

    # loop vs autograd at lr = 1, batch 1: the same IEEE ops in the same order (the mean of one value is
    # itself, SGD's w + (−1)·grad is w − grad), so equal bit for bit in any dtype: tolerance 0.
    results.append(
        compare(
            f"loop vs autograd engine ({FEW_EPOCHS} epochs)",
            loop[:, :FEW_EPOCHS],
            _trajectory(x, y, "autograd", FEW_EPOCHS),
            0.0,
            catches="backprop or sgd_step disagreeing with torch.autograd + torch.optim.SGD",
            blind_to="a fault in forpass that keeps its derivatives (both engines use it)",
        )
    )

    # Two engines that round differently: per step, the gradients differ by a few eps of their terms' size
    # (the autograd engine divides by the batch size before summing, sgd_step after; the scan composes an
    # epoch's steps as a tree, the loop in sequence). That adds up to ~n·eps per epoch (n = 442) and older
    # epochs' errors shrink as the map contracts. 1024 eps (2.3e-13 in float64, 1.2e-4 in float32) covers
    # it; seen: ≤ 10 eps.
    tol = ENGINE_TOL * eps
    results.append(
        compare(
            f"loop vs autograd engine (batch 32, shuffled, {EPOCHS} epochs)",
            loop_shuffled,
            _trajectory(x, y, "autograd", EPOCHS, **shuffled),
            tol,
            catches="a fault in sgd_step's batch mean or in the loop's batches and orders",
            blind_to="a fault in forpass that keeps its derivatives (the Python row catches it)",
        )
    )
    # The scan on its eager path, which reads its maps off sgd_step: what these rows are blind to is then true.
    scan_blind = "a fault in sgd_step or backprop: the scan reads its maps off sgd_step, so both sides share it"
    with _kernel("eager"):
        scan, scan_shuffled = _trajectory(x, y, "scan", EPOCHS), _trajectory(x, y, "scan", EPOCHS, **shuffled)
    results.append(
        compare(
            f"scan vs loop engine ({EPOCHS} epochs)",
            scan,
            loop,
            tol,
            catches="the scan's composition of the steps (blocks, tree, epochs)",
            blind_to=scan_blind,
        )
    )
    results.append(
        compare(
            f"scan vs loop engine (batch 32, shuffled, {EPOCHS} epochs)",
            scan_shuffled,
            loop_shuffled,
            tol,
            catches="the scan's composition with mini-batches, a short last batch and shuffled orders",
            blind_to=scan_blind,
        )
    )
    return results + kernel_checks(x, y, loop, scan)


def kernel_checks(x: torch.Tensor, y: torch.Tensor, loop: torch.Tensor, scan: torch.Tensor) -> list[CheckResult]:
    """The compiled CPU kernel (engines/cpu.py), which restates the per-sample map, against the loop and the eager
    scan on the book's data; no row where it does not run (no Numba, or not the CPU)."""
    if x.device.type != "cpu" or kernels.cpu_module() is None:
        return []
    with _kernel("numba"):
        kernel = _trajectory(x, y, "scan", EPOCHS)
    tol = ENGINE_TOL * torch.finfo(x.dtype).eps
    return [
        compare(
            f"CPU kernel vs loop engine ({EPOCHS} epochs)",
            kernel,
            loop,
            tol,
            catches="a fault in the kernel's restated map (A = I − lr·v vᵀ, c = lr·y·v), its chains or its power",
            blind_to="mini-batches (the mini-batch kernel is held to the loop by the test suite)",
        ),
        compare(
            f"CPU kernel vs eager scan ({EPOCHS} epochs)",
            kernel,
            scan,
            tol,
            catches="the kernel and the scan's maps read off sgd_step disagreeing",
            blind_to="a fault both share: the rows above hold the scan to the loop",
        ),
    ]


@contextlib.contextmanager
def _kernel(choice):
    # TORCH_NEURON_KERNEL for the rows that must know which path ran (engines/scan.py reads it per call)
    before = os.environ.get("TORCH_NEURON_KERNEL")
    os.environ["TORCH_NEURON_KERNEL"] = choice
    try:
        yield
    finally:
        if before is None:
            del os.environ["TORCH_NEURON_KERNEL"]
        else:
            os.environ["TORCH_NEURON_KERNEL"] = before


def device_checks(device: torch.device, dtype: torch.dtype) -> list[CheckResult]:
    """The same computations on the CPU and on `device` (CUDA): backprop, the loop and the scan."""
    ds = tn.load_diabetes()
    cpu = torch.device("cpu")
    x, y = ds.data[:, 2].to(dtype), ds.target.to(dtype)
    eps = torch.finfo(dtype).eps
    g = torch.Generator().manual_seed(2)
    xr, yr = random_values(N_RANDOM, cpu, dtype, g), random_values(N_RANDOM, cpu, dtype, g)
    w, b = torch.tensor(3.0, dtype=dtype), torch.tensor(-2.0, dtype=dtype)
    on = lambda *ts: [t.to(device) for t in ts]  # noqa: E731
    blind = "a fault both devices share (the rows above)"
    # elementwise ops are correctly rounded on both, but a GPU kernel may fuse a·b + c into one FMA: 4 eps
    results = [
        compare(
            f"backprop cpu vs {device}",
            torch.cat(hand_gradients(*on(xr, yr, w, b))),
            torch.cat(hand_gradients(xr, yr, w, b)),
            4 * eps,
            catches=f"backprop computed differently on {device}",
            blind_to=blind,
        )
    ]
    # whole fits: per-step differences of that size, summed over an epoch and contracted as above: 1024 eps
    x_on, y_on = on(x, y)  # the book's data on `device`, named: mypy cannot count *on(x, y)'s arguments
    results.append(
        compare(
            f"loop engine cpu vs {device} ({FEW_EPOCHS} epochs)",
            _trajectory(x_on, y_on, "loop", FEW_EPOCHS),
            _trajectory(x, y, "loop", FEW_EPOCHS),
            ENGINE_TOL * eps,
            catches=f"the loop on {device}",
            blind_to=blind,
        )
    )
    results.append(
        compare(
            f"scan engine cpu vs {device} (100 epochs)",
            _trajectory(x_on, y_on, "scan", 100),
            _trajectory(x, y, "scan", 100),
            ENGINE_TOL * eps,
            catches=f"the scan on {device} (its fused kernel on CUDA)",
            blind_to=blind,
        )
    )
    return results
