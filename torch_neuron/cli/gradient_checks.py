"""Self-check rows for the hand-written derivatives: backprop and jvp against torch.autograd, gradcheck."""

from collections.abc import Callable
from typing import Any

import torch
from torch.autograd import gradcheck, gradgradcheck

import torch_neuron as tn

from .. import functional as F  # looked up at call time, so a patched F.backprop is what gets checked
from .selfcheck import CheckResult, compare, dtype_name

N_RANDOM = 256  # random samples for the gradient checks


def random_values(n: int, device: torch.device, dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    """n random scalars with random signs and magnitudes 10^-3 … 10^3 (so products span 10^±9)."""
    mag = 10.0 ** (torch.rand(n, generator=generator, dtype=torch.float64) * 6 - 3)
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(torch.float64)
    return (sign * mag).to(device=device, dtype=dtype)


def _loss(w, b, x, y):
    # the oracle's loss: plain torch ops, no hand-written gradient anywhere
    return F.squared_error(y, F.forpass(x, w, b))


def hand_gradients(
    x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    err = -(y - F.forpass(x, w, b))
    return F.backprop(x, err)


def float64_device(device: torch.device) -> torch.device:
    # MPS has no float64: the float64-only checks run on the CPU there
    return torch.device("cpu") if device.type == "mps" else device


def gradient_checks(device: torch.device, dtype: torch.dtype) -> list[CheckResult]:
    """Reverse mode: backprop vs autograd per sample, per batch (vmap(grad)) and summed; NeuronFunction's
    backward too. Forward mode: NeuronFunction's jvp vs torch.func.jvp of plain ops."""
    g = torch.Generator().manual_seed(0)
    eps = torch.finfo(dtype).eps
    x, y, ws, bs = (random_values(N_RANDOM, device, dtype, g) for _ in range(4))
    results = []

    # Per sample: x·err and err are the ops autograd runs (½·2 is exact, mean of one is /1), so they
    # should agree bit for bit; 4 eps leaves room for a backend that orders the multiplies differently.
    got, want = [], []
    for i in range(N_RANDOM):
        w, b = ws[i].clone().requires_grad_(True), bs[i].clone().requires_grad_(True)
        want.append(torch.stack(torch.autograd.grad(_loss(w, b, x[i], y[i]), (w, b))))
        got.append(torch.stack(hand_gradients(x[i], y[i], ws[i], bs[i])))
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
    hw, hb = hand_gradients(x, y, w, b)
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
    def loss_fn(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
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
    want_sum = torch.stack(torch.autograd.grad(_loss(wg, bg, x, y).sum(), (wg, bg)))
    got_sum = torch.stack([hw.sum(), hb.sum()])
    scale = torch.stack([hw.abs().sum(), hb.abs().sum()])
    results.append(
        compare(
            "backprop vs autograd, summed loss",
            got_sum,
            want_sum,
            N_RANDOM * eps,
            scale,
            catches="the sum of per-sample gradients over a batch (Σ x·err)",
            blind_to="the update and the engines",
        )
    )

    # Forward mode, one (x, w, b) and tangents per sample: both sides sum the same three rounded products,
    # perhaps in another order, so they differ by ≤ 3 roundings of |x·dw| + |db| + |w·dx|: 4 eps of that.
    dx, dw, db = (random_values(N_RANDOM, device, dtype, g) for _ in range(3))

    def tangent(f: Callable[..., torch.Tensor]) -> torch.Tensor:
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


def gradchecks(device: torch.device, dtype: torch.dtype) -> list[CheckResult]:
    """gradcheck (both modes) and gradgradcheck of NeuronFunction vs finite differences, in float64 always."""
    # Finite differences need float64 (in float32 the step's rounding swamps the derivative).
    where = float64_device(device)
    note = "float64" if dtype == torch.float64 else f"float64 even for a {dtype_name(dtype)} run"
    note += "" if where == device else ", on cpu"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, generator=g, dtype=torch.float64).to(where).requires_grad_(True)
    w = torch.tensor(0.7, dtype=torch.float64, device=where, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, device=where, requires_grad=True)
    nan = float("nan")  # gradcheck answers pass/fail only; its own atol (1e-5) and rtol (1e-3) apply
    blind = "errors within gradcheck's atol 1e-5 + rtol 1e-3"
    runs: tuple[tuple[str, Callable[..., bool], dict[str, Any], str, str], ...] = (
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
