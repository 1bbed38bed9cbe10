"""Input checks shared by the library and the script: each names the problem, none changes anything."""
import math
import numbers

import torch

from ..shapes import broadcast_shapes


def as_tensor(value, name, *, dtype, device):
    """`value` as a floating tensor of `dtype` on `device`; a tensor elsewhere is an error, not a silent copy."""
    if torch.is_tensor(value):
        if not same_device(value.device, torch.device(device)):
            raise ValueError(f"{name} is on {value.device} but the neuron is on {device}: move one of them with .to()")
        if value.is_complex() or not (value.is_floating_point() or value.dtype in _INTEGER_DTYPES):
            raise TypeError(f"{name} must hold real numbers, not {value.dtype}")
        return value.to(dtype)
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must hold numbers only ({e})") from None
    return t.to(device=device, dtype=dtype)


def same_device(a, b):
    """a and b are one device, a missing index read as the current one ('cuda' is 'cuda:0' usually, 'mps' is 'mps:0')."""
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        # only asked for CUDA when one side is a CUDA tensor, so CUDA is there
        current = torch.cuda.current_device() if a.type == "cuda" else 0
        return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)
    return a.index == b.index


_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def check_finite(t, name):
    """Reject NaN and ±inf (one host sync: call it once per fit, never inside a loop)."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} holds NaN or inf values")


def check_data(x, y, *, one_dim, empty_ok=False):
    """x, y (..., n): same n (≥ 1 unless empty_ok: a rank's shard) and leading dims that broadcast.

    Finiteness is check_finite's, or the fit's result's.
    """
    if x.dim() == 0 or y.dim() == 0:
        raise ValueError("x and y need at least one dimension (the samples)")
    if one_dim and (x.dim() != 1 or y.dim() != 1):
        raise ValueError(f"x and y must be 1-D (one value per sample), "
                         f"got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y have different lengths: {x.shape[-1]} and {y.shape[-1]}")
    if x.shape[-1] == 0 and not empty_ok:
        raise ValueError("x and y are empty: nothing to fit")
    try:
        broadcast_shapes(x.shape[:-1], y.shape[:-1])
    except RuntimeError:
        raise ValueError(f"the leading dims of x {tuple(x.shape)} and y {tuple(y.shape)} do not broadcast") from None


def check_epochs(epochs):
    """A whole number ≥ 0."""
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
    return int(epochs)


def check_batch_size(batch_size):
    """A whole number ≥ 1."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    return int(batch_size)


def check_lr(lr, *, dtype, device):
    """A finite lr > 0: a number, or a tensor of them (one per neuron)."""
    if torch.is_tensor(lr):
        lr = as_tensor(lr, "lr", dtype=dtype, device=device)
        if not bool((torch.isfinite(lr) & (lr > 0)).all()):
            raise ValueError("lr must be finite and > 0" + (" for every neuron" if lr.dim() else ""))
        return lr if lr.dim() else float(lr)
    if isinstance(lr, (str, bytes, bool)) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a number, got {lr!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    return float(lr)
