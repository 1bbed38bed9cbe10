"""Self-checks: the hand-written backprop against torch.autograd, and the engines against each other.

run_checks(device, dtype) → one CheckResult per check. Each compares `got` with a reference `want`
elementwise: abs err = |got − want|, rel err = |got − want| / scale (scale = |want| unless said),
and passes when the largest rel err ≤ tolerance. Tolerances are in units of the dtype's eps
(2.2e-16 float64, 1.2e-7 float32); each one's reason sits beside it.
"""
from typing import NamedTuple

import torch
from torch.autograd import gradcheck, gradgradcheck

import torch_neuron as tn
from . import functional as F  # looked up at call time, so a patched F.backprop is what gets checked

N_RANDOM = 256  # random samples for the gradient checks
SUBSET, FEW_EPOCHS = 442, 5  # the slow engines (~40 µs and ~150 µs a step) get 2,210 steps
EPOCHS = 20  # loop vs scan: 8,840 loop steps


class CheckResult(NamedTuple):
    """One check: its name, the largest absolute and relative errors, the relative tolerance, and the verdict."""
    name: str
    max_abs_err: float
    max_rel_err: float
    tolerance: float
    passed: bool


def compare(name, got, want, tolerance, scale=None):
    """CheckResult of got vs want (same shape): passes when max |got − want| / scale ≤ tolerance."""
    got, want = (t.detach().to("cpu", torch.float64) for t in (got, want))
    diff = (got - want).abs()
    scale = want.abs() if scale is None else scale.detach().to("cpu", torch.float64)
    rel = torch.where(diff == 0, torch.zeros_like(diff), diff / scale)  # 0/0 (both exactly 0) is no error
    max_abs, max_rel = diff.max().item(), rel.max().item()
    return CheckResult(name, max_abs, max_rel, tolerance, bool(max_rel <= tolerance))


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


def gradient_checks(device, dtype):
    """backprop vs autograd per sample, per batch with vmap(grad), and on the summed loss; NeuronFunction too."""
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
    results.append(compare("backprop vs autograd, per sample", torch.stack(got), torch.stack(want), 4 * eps))

    # Per batch: one shared (w, b), per-sample gradients by vmap(grad); the same ops, so the same 4 eps.
    w, b = ws[0], bs[0]
    per_sample = torch.func.vmap(torch.func.grad(_loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))
    gw, gb = per_sample(w, b, x, y)
    hw, hb = _hand(x, y, w, b)
    results.append(compare("backprop vs vmap(grad), per batch", torch.cat((hw, hb)), torch.cat((gw, gb)), 4 * eps))

    # NeuronFunction's own backward under vmap(grad) (its vmap rule included) vs plain autograd: 4 eps as above.
    def loss_fn(w, b, x, y):
        return F.squared_error(y, tn.NeuronFunction.apply(x, w, b))
    fw, fb = torch.func.vmap(torch.func.grad(loss_fn, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, x, y)
    results.append(compare("NeuronFunction vs vmap(grad), per batch", torch.cat((fw, fb)), torch.cat((gw, gb)),
                           4 * eps))

    # Summed loss: Σ x·err over the batch. Two sums of the same terms may round differently by up to
    # n·eps·Σ|terms| (recursive summation's bound), so errors are relative to Σ|terms| and the tolerance is n·eps.
    wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    want = torch.stack(torch.autograd.grad(_loss(wg, bg, x, y).sum(), (wg, bg)))
    got = torch.stack([hw.sum(), hb.sum()])
    scale = torch.stack([hw.abs().sum(), hb.abs().sum()])
    results.append(compare("backprop vs autograd, summed loss", got, want, N_RANDOM * eps, scale))
    return results


def gradchecks(device, dtype):
    """gradcheck and gradgradcheck of NeuronFunction: its backward vs finite differences, in float64 always."""
    # Finite differences need float64 (in float32 the step's rounding swamps the derivative), and
    # MPS has no float64, so there it runs on the CPU.
    where = torch.device("cpu") if device.type == "mps" else device
    note = "float64" if dtype == torch.float64 else f"float64 even for a {_name(dtype)} run"
    note += "" if where == device else ", on cpu"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, generator=g, dtype=torch.float64).to(where).requires_grad_(True)
    w = torch.tensor(0.7, dtype=torch.float64, device=where, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, device=where, requires_grad=True)
    nan = float("nan")  # gradcheck answers pass/fail only; its own atol (1e-5) and rtol (1e-3) apply
    results = []
    for check, label in ((gradcheck, "gradcheck"), (gradgradcheck, "gradgradcheck")):
        ok = check(tn.NeuronFunction.apply, (x, w, b), raise_exception=False)
        results.append(CheckResult(f"{label} NeuronFunction ({note})", nan, nan, 1e-5, bool(ok)))
    return results


def _trajectory(x, y, engine, epochs, **kw):
    h = tn.fit(x, y, engine=engine, epochs=epochs, history=True, **kw).history
    return torch.cat((h.w, h.b))


def engine_checks(device, dtype):
    """The engines against each other on the book's data (x = bmi, y = target), epoch by epoch."""
    ds = tn.load_diabetes()
    x, y = (t.to(device=device, dtype=dtype) for t in (ds.data[:, 2], ds.target))
    eps = torch.finfo(dtype).eps
    results = []

    # loop vs autograd at lr = 1, batch 1: the same IEEE ops in the same order (the mean of one value is
    # itself, SGD's w + (−1)·grad is w − grad), so equal bit for bit in any dtype: tolerance 0.
    xs, ys = x[:SUBSET], y[:SUBSET]
    results.append(compare(f"loop vs autograd engine ({FEW_EPOCHS} epochs)",
                           _trajectory(xs, ys, "loop", FEW_EPOCHS), _trajectory(xs, ys, "autograd", FEW_EPOCHS), 0.0))

    # scan vs loop: the scan composes an epoch's 442 steps as a tree, the loop in sequence, so their
    # roundings differ by up to ~n·eps per epoch (n = 442); older epochs' errors shrink as the map contracts.
    # 1024 eps (2.3e-13 in float64, 1.2e-4 in float32) covers that; seen: ~10 eps.
    engine_tol = 1024 * eps
    results.append(compare(f"scan vs loop engine ({EPOCHS} epochs)",
                           _trajectory(x, y, "scan", EPOCHS), _trajectory(x, y, "loop", EPOCHS), engine_tol))
    kw = dict(batch_size=32, shuffle=True, seed=1)
    results.append(compare(f"scan vs loop engine (batch 32, shuffled, {EPOCHS} epochs)",
                           _trajectory(x, y, "scan", EPOCHS, **kw), _trajectory(x, y, "loop", EPOCHS, **kw),
                           engine_tol))
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
    # elementwise ops are correctly rounded on both, but a GPU kernel may fuse a·b + c into one FMA: 4 eps
    results = [compare(f"backprop cpu vs {device}", torch.cat(_hand(*on(xr, yr, w, b))), torch.cat(_hand(xr, yr, w, b)),
                       4 * eps)]
    # whole fits: per-step differences of that size, summed over an epoch and contracted as above: 1024 eps
    xs, ys = x[:SUBSET], y[:SUBSET]
    results.append(compare(f"loop engine cpu vs {device} ({FEW_EPOCHS} epochs)",
                           _trajectory(*on(xs, ys), "loop", FEW_EPOCHS), _trajectory(xs, ys, "loop", FEW_EPOCHS),
                           1024 * eps))
    results.append(compare(f"scan engine cpu vs {device} (100 epochs)",
                           _trajectory(*on(x, y), "scan", 100), _trajectory(x, y, "scan", 100), 1024 * eps))
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
