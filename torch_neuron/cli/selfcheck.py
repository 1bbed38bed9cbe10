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


def compare(
    name: str,
    got: torch.Tensor,
    want: torch.Tensor,
    tolerance: float,
    scale: torch.Tensor | None = None,
    *,
    catches: str = "",
    blind_to: str = "",
) -> CheckResult:
    """CheckResult of got vs want (same shape): passes when max |got − want| / scale ≤ tolerance.

    A NaN on either side (a diverged fit) is an infinite error, never a pass.
    """
    got, want = (t.detach().to("cpu", torch.float64) for t in (got, want))
    diff = (got - want).abs().nan_to_num(nan=math.inf)
    scale = want.abs() if scale is None else scale.detach().to("cpu", torch.float64)
    rel = torch.where(diff == 0, torch.zeros_like(diff), diff / scale)  # 0/0 (both exactly 0) is no error
    max_abs, max_rel = diff.max().item(), rel.max().item()
    return CheckResult(name, max_abs, max_rel, tolerance, bool(max_rel <= tolerance), catches, blind_to)


def run_checks(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64) -> list[CheckResult]:
    """Every check on `device` in `dtype` (the CPU-vs-device ones only when device is CUDA) → [CheckResult]."""
    from .engine_checks import device_checks, engine_checks  # torch.func and gradcheck only for this command
    from .gradient_checks import gradchecks, gradient_checks

    device = torch.device(device)
    results = gradient_checks(device, dtype) + gradchecks(device, dtype) + engine_checks(device, dtype)
    if device.type == "cuda":
        results += device_checks(device, dtype)
    return results


def dtype_name(dtype: torch.dtype) -> str:
    """'float64' for torch.float64."""
    return str(dtype).replace("torch.", "")
