"""The front door: every entry's arguments checked, typed and placed by PyTorch's own rules, or refused by name.

What it admits, for data (x, y), starting points (w, b) and learning rates (lr) alike: Python numbers, lists,
NumPy arrays and tensors of real numbers. The dtype of a fit is PyTorch's type promotion over all of them
(integer and bool data compute in the default float dtype), or `dtype=` (float32 or float64); the device is
the tensors', or `device=`, which moves them. Every value is detached: fitting is not differentiable.
What it refuses, each with an error naming the argument: complex or non-numeric values, NaN or inf, half
precision, a device that does not exist, settings of the wrong type, and PyTorch's (batch, 1) layout for
data (samples live in the last dim). Nothing here changes its inputs.
"""

import math
import numbers
from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np
import torch

from ..devices import get_device
from ..shapes import broadcast_shapes

FLOAT_DTYPES = (torch.float32, torch.float64)
ENGINE_NAMES = ("auto", "scan", "loop", "autograd")
ON_DIVERGENCE = ("raise", "nan")
_SEED_RANGE = (-(2**63), 2**64)  # what torch.Generator.manual_seed takes


def _probe(value: Any, name: str) -> tuple[torch.dtype, int] | None:
    """(dtype, dims) of value as torch would hold it (None for a Python number); TypeError unless real numbers."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, not a bool ({value!r})")
    if torch.is_tensor(value):
        dtype, dims = value.dtype, value.dim()
    elif isinstance(value, np.ndarray):
        dtype, dims = _numpy_dtype(value.dtype, name), value.ndim
    elif isinstance(value, np.generic):  # NumPy scalars count as Python numbers in torch's promotion
        _numpy_dtype(value.dtype, name)
        return None
    elif isinstance(value, numbers.Real):
        return None
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            t = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise TypeError(
                f"{name} must hold numbers only: a list of numbers, or nested lists of equal length"
            ) from None
        dtype, dims = t.dtype, t.dim()
    elif isinstance(value, numbers.Number):
        raise TypeError(f"{name} must hold real numbers, not {type(value).__name__} ({value!r})")
    else:
        raise TypeError(f"{name} must be numbers (a number, list, NumPy array or tensor), not {type(value).__name__}")
    if dtype.is_complex:
        raise TypeError(f"{name} must hold real numbers, not {dtype}")
    return dtype, dims


def _numpy_dtype(dtype: np.dtype, name: str) -> torch.dtype:
    """The torch dtype of a NumPy dtype of real numbers (any byte order); TypeError for others."""
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, not NumPy {dtype}")
    try:
        return torch.from_numpy(np.zeros(0, dtype.newbyteorder("="))).dtype
    except TypeError:  # longdouble, say: no torch dtype holds it
        raise TypeError(f"{name} is NumPy {dtype}, which torch cannot hold: convert it to float64") from None


def _category(dtype: torch.dtype) -> int:
    return 0 if dtype == torch.bool else 2 if dtype.is_floating_point else 1


def fit_dtype(named: dict[str, Any], dtype: Any = None) -> torch.dtype:
    """The dtype a fit computes in: `dtype`, else PyTorch's promotion over the values (ints → default float).

    Promotion is torch.result_type's: dimensioned tensors outrank 0-dim ones, which outrank Python numbers.
    """
    probes = {name: _probe(v, name) for name, v in named.items()}
    if not probes:
        return check_dtype(dtype) if dtype is not None else torch.get_default_dtype()
    if dtype is not None:
        return check_dtype(dtype)
    groups = (
        [p[0] for p in probes.values() if p is not None and p[1]],
        [p[0] for p in probes.values() if p is not None and not p[1]],
        [torch.get_default_dtype() for p in probes.values() if p is None],
    )  # Python numbers
    top = max(_category(d) for g in groups for d in g)
    # the first group holding a value of the top category decides, among its values of that category
    members = next([d for d in g if _category(d) == top] for g in groups if any(_category(d) == top for d in g))
    promoted = reduce(torch.promote_types, members)
    if not promoted.is_floating_point:
        return torch.get_default_dtype()
    if promoted not in FLOAT_DTYPES:
        raise TypeError(
            f"the data are {promoted}: fits run in torch.float32 or torch.float64 (half precision "
            "cannot hold the fit's sums); pass dtype=torch.float32"
        )
    return promoted


def check_dtype(dtype: Any) -> torch.dtype:
    """dtype, if it is torch.float32 or torch.float64; TypeError naming it otherwise."""
    if not isinstance(dtype, torch.dtype) or dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be torch.float32 or torch.float64, not {dtype!r}")
    return dtype


def fit_device(named: dict[str, Any], device: Any = None, *, dtype: torch.dtype | None = None) -> torch.device:
    """`device` (checked to exist, as get_device does), else the one device of the values' tensors, else the CPU."""
    if device is not None:
        return get_device(device, dtype=dtype)
    found = {name: v.device for name, v in named.items() if torch.is_tensor(v) and v.dim()}
    found = found or {name: v.device for name, v in named.items() if torch.is_tensor(v)}
    if not found:
        return torch.device("cpu")
    (first, where), *others = found.items()
    for name, d in others:
        if not same_device(d, where):
            raise ValueError(f"{first} is on {where} but {name} is on {d}: pass device= to move them, or .to()")
    return where


def as_tensor(value: Any, name: str, *, dtype: torch.dtype, device: torch.device, move: bool = True) -> torch.Tensor:
    """value as a detached tensor of dtype on device; move=False refuses a tensor on another device."""
    _probe(value, name)
    if torch.is_tensor(value):
        if not move and not same_device(value.device, device):
            raise ValueError(f"{name} is on {value.device} but the neuron is on {device}: move one of them with .to()")
        return value.detach().to(device=device, dtype=dtype)
    if isinstance(value, np.ndarray):  # reversed views and other byte orders are copied to what torch takes
        native = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
        return torch.from_numpy(native).reshape(value.shape).to(device=device, dtype=dtype)  # 0-dim stays 0-dim
    return torch.as_tensor(value, dtype=dtype, device=device)


def same_device(a: torch.device, b: torch.device) -> bool:
    """a and b are one device, a missing index read as the current one ('cuda' is 'cuda:0' usually)."""
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        # only asked for CUDA when one side is a CUDA tensor, so CUDA is there
        current = torch.cuda.current_device() if a.type == "cuda" else 0
        return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)
    return a.index == b.index


def check_finite(t: torch.Tensor, name: str) -> None:
    """Reject NaN and ±inf (one host sync: call it once per fit, never inside a loop)."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} holds NaN or inf values")


def check_layout(t: torch.Tensor, name: str) -> None:
    """Samples live in the last dim: refuse PyTorch's (batch, 1) column, which would read as one-sample neurons."""
    if t.dim() >= 2 and t.shape[-1] == 1 and t.numel() > 1:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}: samples live in the last dim, so this would fit "
            f"{t.numel()} neurons of one sample each; for one neuron pass {name}.squeeze(-1)"
        )


def check_data(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    one_dim: bool = False,
    empty_ok: bool = False,
    layout: bool = True,
    where: str = "",
) -> None:
    """x, y (..., n): at least 1-D, the same n (≥ 1 unless empty_ok), leading dims that broadcast.

    layout: refuse the (batch, 1) layout (check_layout); a chunk after the first that fixed the neuron
    dims may hold one sample. Finiteness is check_finite's, or the fit's result's. where: ' of chunk 3'.
    """
    if x.dim() == 0 or y.dim() == 0:
        raise ValueError(f"x and y{where} need at least one dimension (the samples)")
    if one_dim and (x.dim() != 1 or y.dim() != 1):
        hint = "; a (batch, 1) column is x.squeeze(-1)" if x.dim() == 2 and x.shape[-1] == 1 else ""
        raise ValueError(
            f"x and y{where} must be 1-D (one value per sample), got shapes {tuple(x.shape)} and {tuple(y.shape)}{hint}"
        )
    if layout:
        check_layout(x, f"x{where}")
        check_layout(y, f"y{where}")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y{where} have different lengths: {x.shape[-1]} and {y.shape[-1]}")
    if x.shape[-1] == 0 and not empty_ok:
        raise ValueError(f"x and y{where} are empty: nothing to fit")
    try:
        broadcast_shapes(x.shape[:-1], y.shape[:-1])
    except RuntimeError:
        raise ValueError(
            f"the leading dims of x {tuple(x.shape)} and y {tuple(y.shape)}{where} do not broadcast"
        ) from None


def check_int(value: Any, name: str, low: int, high: float = math.inf) -> int:
    """A whole number (a Python or NumPy int, not a bool) with low ≤ value < high."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__} ({value!r})")
    if not low <= int(value) < high:
        bound = f">= {low}" if high == math.inf else f"in [{low}, {high})"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(value)


def check_seed(seed: Any) -> int:
    """An int that torch.Generator.manual_seed takes."""
    return check_int(seed, "seed", *_SEED_RANGE)


def check_flag(value: Any, name: str) -> bool:
    """A bool (Python or NumPy): a string such as 'no' is refused, never read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """One of the named choices."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(choices)}; got {value!r}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(choices)}")
    return value


def check_start(value: Any, name: str, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """w or b as a tensor (...) whose dims are neuron dims. A number must be finite; a tensor's NaN or inf is
    named by the fit once its result is not finite (fitting.check_result): no host sync on the way in."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return torch.tensor(float(value), dtype=dtype, device=device)
    if torch.is_tensor(value):  # the one probe a tensor needs: its dtype
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold real numbers, not {value.dtype}")
        return value.detach().to(device=device, dtype=dtype)
    _refuse_bools(value, name)
    return as_tensor(value, name, dtype=dtype, device=device)


def check_lr(lr: Any, *, dtype: torch.dtype, device: torch.device) -> float | torch.Tensor:
    """Finite learning rates > 0: a Python float for one (the engines' fast path), else a tensor (...) per neuron."""
    if isinstance(lr, (float, int)) and not isinstance(lr, bool):  # a number: checked without a tensor
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be finite and > 0, got {lr!r}")
        return float(lr)
    _refuse_bools(lr, "lr")
    t = as_tensor(lr, "lr", dtype=dtype, device=device)
    if not bool((torch.isfinite(t) & (t > 0)).all()):
        shown = f", got {t.item()!r}" if t.numel() == 1 else " for every neuron"
        raise ValueError(f"lr must be finite and > 0{shown}")
    if t.dim():
        return t
    return float(lr) if isinstance(lr, numbers.Real) and not torch.is_tensor(lr) else t.item()


def _refuse_bools(value: Any, name: str) -> None:
    # data may be bool (ints and bools compute as floats); a starting point or a learning rate of True is a slip
    probe = _probe(value, name)
    if probe is not None and probe[0] == torch.bool:
        raise TypeError(f"{name} must hold numbers, not bools")
