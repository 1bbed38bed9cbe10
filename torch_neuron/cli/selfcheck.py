"""Self-checks: the hand-written derivatives against torch.autograd, and the engines against the book and each other.

run_checks(device, dtype) → one CheckResult per check. Each compares `got` with a reference `want`
elementwise: abs err = |got − want|, rel err = |got − want| / scale (scale = |want| unless said),
and passes when the largest rel err ≤ tolerance. Tolerances are in units of the dtype's eps
(2.2e-16 float64, 1.2e-7 float32); each one's reason sits beside it. Each check also says what a
fault must look like for it to fail (`catches`) and what it cannot see (`blind_to`): no single row
proves the library right, the table does.
"""

import math
from typing import NamedTuple

import torch
from torch.autograd import gradcheck, gradgradcheck

import torch_neuron as tn

from .. import functional as F  # looked up at call time, so a patched F.backprop is what gets checked
from ..book import book_fit

N_RANDOM = 256  # random samples for the gradient checks
EPOCHS = 20  # engine comparisons on the book's 442 samples: 8,840 steps at batch 1
FEW_EPOCHS = 5  # the autograd engine at batch 1 (~0.5 ms a step on a CPU core): 2,210 steps
ENGINE_TOL = 1024  # eps, for two engines that round differently: see engine_checks


class CheckResult(NamedTuple):
    """One check: its name, the largest absolute and relative errors, the relative tolerance, the verdict,
    and what a failure would point to (catches) and what the check cannot see (blind_to)."""

    name: str
    max_abs_err: float
    max_rel_err: float
    tolerance: float
    passed: bool
    catches: str = ""
    blind_to: str = ""


def compare(name, got, want, tolerance, scale=None, *, catches="", blind_to=""):
    """CheckResult of got vs want (same shape): passes when max |got − want| / scale ≤ tolerance.

    A NaN on either side (a diverged fit) is an infinite error, never a pass.
    """
    got, want = (t.detach().to("cpu", torch.float64) for t in (got, want))
    diff = (got - want).abs().nan_to_num(nan=math.inf)
    scale = want.abs() if scale is None else scale.detach().to("cpu", torch.float64)
    rel = torch.where(diff == 0, torch.zeros_like(diff), diff / scale)  # 0/0 (both exactly 0) is no error
    max_abs, max_rel = diff.max().item(), rel.max().item()
    return CheckResult(name, max_abs, max_rel, tolerance, bool(max_rel <= tolerance), catches, blind_to)


def _random(n, device, dtype, generator):
    """n random scalars with random signs and magnitudes 10^-3 … 10^3 (so products span 10^±9)."""
    mag = 10.0 ** (torch.rand(n, generator=generator, dtype=torch.float64) * 6 - 3)
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(torch.float64)
    return (sign * mag).to(device=device, dtype=dtype)


def _loss(w, b, x, y):
    # the oracle's loss: plain torch ops, no hand-written gradient anywhere
    return F.squared_error(y, F.forpass(x, w, b))


def _hand(x, y, w, b):
    err = -(y - F.forpass(x, w, b))
    return F.backprop(x, err)


def _float64_device(device):
    # MPS has no float64: the float64-only checks run on the CPU there
    return torch.device("cpu") if device.type == "mps" else device


def gradient_checks(device, dtype):
    """Reverse mode: backprop vs autograd per sample, per batch (vmap(grad)) and summed; NeuronFunction's
    backward too. Forward mode: NeuronFunction's jvp vs torch.func.jvp of plain ops."""
    g = torch.Generator().manual_seed(0)
    eps = torch.finfo(dtype).eps
    x, y, ws, bs = (_random(N_RANDOM, device, dtype, g) for _ in range(4))
    results = []

    # Per sample: x·err and err are the ops autograd runs (½·2 is exact, mean of one is /1), so they
    # should agree bit for bit; 4 eps leaves room for a backend that orders the multiplies differently.
    got, want = [], []
    for i in range(N_RANDOM):
        w, b = ws[i].clone().requires_grad_(True), bs[i].clone().requires_grad_(True)
        want.append(torch.stack(torch.autograd.grad(_loss(w, b, x[i], y[i]), (w, b))))
        got.append(torch.stack(_hand(x[i], y[i], ws[i], bs[i])))
    results.append(
        compare(
            "backprop vs autograd, per sample",
            torch.stack(got),
            torch.stack(want),
            4 * eps,
            catches="a wrong backprop formula (w_grad = x·err, b_grad = err)",
            blind_to="batches, the update and the engines",
        )
    )

    # Per batch: one shared (w, b), per-sample gradients by vmap(grad); the same ops, so the same 4 eps.
    w, b = ws[0], bs[0]
    per_sample = torch.func.vmap(torch.func.grad(_loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))
    gw, gb = per_sample(w, b, x, y)
    hw, hb = _hand(x, y, w, b)
    results.append(
        compare(
            "backprop vs vmap(grad), per batch",
            torch.cat((hw, hb)),
            torch.cat((gw, gb)),
            4 * eps,
            catches="backprop on a batch: one gradient per sample, elementwise",
            blind_to="the mean over the batch and the update",
        )
    )

    # NeuronFunction's own backward under vmap(grad) (its vmap rule included) vs plain autograd: 4 eps as above.
    def loss_fn(w, b, x, y):
        return F.squared_error(y, tn.NeuronFunction.apply(x, w, b))

    fw, fb = torch.func.vmap(torch.func.grad(loss_fn, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, x, y)
    results.append(
        compare(
            "NeuronFunction vs vmap(grad), per batch",
            torch.cat((fw, fb)),
            torch.cat((gw, gb)),
            4 * eps,
            catches="a wrong NeuronFunction.backward or vmap rule",
            blind_to="the forward mode (jvp)",
        )
    )

    # Summed loss: Σ x·err over the batch. Two sums of the same terms may round differently by up to
    # n·eps·Σ|terms| (recursive summation's bound), so errors are relative to Σ|terms| and the tolerance is n·eps.
    wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    want = torch.stack(torch.autograd.grad(_loss(wg, bg, x, y).sum(), (wg, bg)))
    got = torch.stack([hw.sum(), hb.sum()])
    scale = torch.stack([hw.abs().sum(), hb.abs().sum()])
    results.append(
        compare(
            "backprop vs autograd, summed loss",
            got,
            want,
            N_RANDOM * eps,
            scale,
            catches="the sum of per-sample gradients over a batch (Σ x·err)",
            blind_to="the update and the engines",
        )
    )

    # Forward mode, one (x, w, b) and tangents per sample: both sides sum the same three rounded products,
    # perhaps in another order, so they differ by ≤ 3 roundings of |x·dw| + |db| + |w·dx|: 4 eps of that.
    dx, dw, db = (_random(N_RANDOM, device, dtype, g) for _ in range(3))

    def tangent(f):
        return torch.func.vmap(lambda *a: torch.func.jvp(f, a[:3], a[3:])[1])(x, ws, bs, dx, dw, db)

    scale = (x * dw).abs() + db.abs() + (ws * dx).abs()
    results.append(
        compare(
            "NeuronFunction jvp vs torch.func.jvp, per sample",
            tangent(tn.NeuronFunction.apply),
            tangent(F.forpass),
            4 * eps,
            scale,
            catches="a wrong forward-mode rule (dŷ = x·dw + db + w·dx) or its vmap rule",
            blind_to="the reverse mode",
        )
    )
    return results


def gradchecks(device, dtype):
    """gradcheck (both modes) and gradgradcheck of NeuronFunction vs finite differences, in float64 always."""
    # Finite differences need float64 (in float32 the step's rounding swamps the derivative).
    where = _float64_device(device)
    note = "float64" if dtype == torch.float64 else f"float64 even for a {_name(dtype)} run"
    note += "" if where == device else ", on cpu"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, generator=g, dtype=torch.float64).to(where).requires_grad_(True)
    w = torch.tensor(0.7, dtype=torch.float64, device=where, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, device=where, requires_grad=True)
    nan = float("nan")  # gradcheck answers pass/fail only; its own atol (1e-5) and rtol (1e-3) apply
    blind = "errors within gradcheck's atol 1e-5 + rtol 1e-3"
    runs = (
        (
            "gradcheck NeuronFunction, reverse mode",
            gradcheck,
            dict(check_batched_grad=True),
            "a wrong backward, under vmap too, or one that fails on a missing gradient",
            blind,
        ),
        (
            "gradcheck NeuronFunction, forward mode",
            gradcheck,
            dict(check_forward_ad=True, check_backward_ad=False, check_batched_forward_grad=True),
            "a wrong jvp, under vmap too, or one that fails on a missing tangent",
            blind,
        ),
        (
            "gradgradcheck NeuronFunction",
            gradgradcheck,
            dict(check_fwd_over_rev=True),
            "a backward whose own derivatives (reverse and forward mode, as hessian uses them) are wrong",
            "a wrong backward that is differentiated consistently (gradcheck catches that)",
        ),
    )
    results = []
    for label, check, kw, catches, blind_to in runs:
        ok = check(tn.NeuronFunction.apply, (x, w, b), raise_exception=False, **kw)
        results.append(CheckResult(f"{label} ({note})", nan, nan, 1e-5, bool(ok), catches, blind_to))
    return results


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


def engine_checks(device, dtype):
    """The engines on the book's data (x = bmi, y = target), epoch by epoch: the loop against the book's own
    Python code and against autograd (independent of sgd_step), then the scan against the loop."""
    ds = tn.load_diabetes()
    x, y = (t.to(device=device, dtype=dtype) for t in (ds.data[:, 2], ds.target))
    eps = torch.finfo(dtype).eps
    shuffled = dict(batch_size=32, shuffle=True, seed=1)
    loop, loop_shuffled = _trajectory(x, y, "loop", EPOCHS), _trajectory(x, y, "loop", EPOCHS, **shuffled)
    results = []

    # The loop vs the book's code in Python floats: the same IEEE float64 ops in the same order, so bit for bit.
    where = _float64_device(device)
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
    scan_blind = "a fault in sgd_step or backprop: the scan reads its maps off sgd_step, so both sides share it"
    results.append(
        compare(
            f"scan vs loop engine ({EPOCHS} epochs)",
            _trajectory(x, y, "scan", EPOCHS),
            loop,
            tol,
            catches="the scan's composition of the steps (blocks, tree, epochs)",
            blind_to=scan_blind,
        )
    )
    results.append(
        compare(
            f"scan vs loop engine (batch 32, shuffled, {EPOCHS} epochs)",
            _trajectory(x, y, "scan", EPOCHS, **shuffled),
            loop_shuffled,
            tol,
            catches="the scan's composition with mini-batches, a short last batch and shuffled orders",
            blind_to=scan_blind,
        )
    )
    return results


def device_checks(device, dtype):
    """The same computations on the CPU and on `device` (CUDA): backprop, the loop and the scan."""
    ds = tn.load_diabetes()
    cpu = torch.device("cpu")
    x, y = ds.data[:, 2].to(dtype), ds.target.to(dtype)
    eps = torch.finfo(dtype).eps
    g = torch.Generator().manual_seed(2)
    xr, yr = _random(N_RANDOM, cpu, dtype, g), _random(N_RANDOM, cpu, dtype, g)
    w, b = torch.tensor(3.0, dtype=dtype), torch.tensor(-2.0, dtype=dtype)
    on = lambda *ts: [t.to(device) for t in ts]  # noqa: E731
    blind = "a fault both devices share (the rows above)"
    # elementwise ops are correctly rounded on both, but a GPU kernel may fuse a·b + c into one FMA: 4 eps
    results = [
        compare(
            f"backprop cpu vs {device}",
            torch.cat(_hand(*on(xr, yr, w, b))),
            torch.cat(_hand(xr, yr, w, b)),
            4 * eps,
            catches=f"backprop computed differently on {device}",
            blind_to=blind,
        )
    ]
    # whole fits: per-step differences of that size, summed over an epoch and contracted as above: 1024 eps
    results.append(
        compare(
            f"loop engine cpu vs {device} ({FEW_EPOCHS} epochs)",
            _trajectory(*on(x, y), "loop", FEW_EPOCHS),
            _trajectory(x, y, "loop", FEW_EPOCHS),
            ENGINE_TOL * eps,
            catches=f"the loop on {device}",
            blind_to=blind,
        )
    )
    results.append(
        compare(
            f"scan engine cpu vs {device} (100 epochs)",
            _trajectory(*on(x, y), "scan", 100),
            _trajectory(x, y, "scan", 100),
            ENGINE_TOL * eps,
            catches=f"the scan on {device} (its fused kernel on CUDA)",
            blind_to=blind,
        )
    )
    return results


def run_checks(device="cpu", dtype=torch.float64):
    """Every check on `device` in `dtype` (the CPU-vs-device ones only when device is CUDA) → [CheckResult]."""
    device = torch.device(device)
    results = gradient_checks(device, dtype) + gradchecks(device, dtype) + engine_checks(device, dtype)
    if device.type == "cuda":
        results += device_checks(device, dtype)
    return results


def _name(dtype):
    return str(dtype).replace("torch.", "")
