"""Pick a torch device by name — 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' — and say clearly when it isn't there."""

import re
from typing import Any

import torch

_NAME = re.compile(r"(auto|cpu|mps|cuda)(?::(\d+))?")


def _cuda_count() -> int:
    # is_available() first: it is safe without a driver; device_count() is asked only after it says yes
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    # torch.backends.mps is missing from some builds, and is_available() from old ones
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and getattr(mps, "is_available", lambda: False)())


def available_devices() -> list[str]:
    """The devices this machine offers, as names get_device accepts: ['cpu', 'cuda:0', …, 'mps']."""
    names = ["cpu"] + [f"cuda:{i}" for i in range(_cuda_count())]
    return names + ["mps"] if _mps_available() else names


def get_device(name: Any = "auto", *, dtype: torch.dtype | None = None) -> torch.device:
    """The torch.device for `name`: 'auto' → CUDA if available, then Apple MPS, else CPU.

    An unavailable device or a malformed name raises ValueError listing what is available.
    With dtype=torch.float64, 'auto' passes over MPS (it has no float64) and 'mps' is an error.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise ValueError(f"a device name must be a string, got {name!r}")
    text = name.strip().lower()
    match = _NAME.fullmatch(text)
    if match is None or (match[2] is not None and match[1] != "cuda"):
        raise ValueError(
            f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps "
            f"(available here: {', '.join(available_devices())})"
        )
    kind, index = match[1], match[2]
    no_float64_mps = dtype == torch.float64
    if kind == "auto":
        if _cuda_count():
            return torch.device("cuda")
        if _mps_available() and not no_float64_mps:
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda":
        count = _cuda_count()
        if count == 0:
            raise ValueError(f"{text} is not available here; available: {', '.join(available_devices())}")
        if index is not None and int(index) >= count:
            raise ValueError(
                f"{text} is not available here ({count} CUDA device{'s' * (count > 1)}); "
                f"available: {', '.join(available_devices())}"
            )
    if kind == "mps":
        if not _mps_available():
            raise ValueError(f"mps is not available here; available: {', '.join(available_devices())}")
        if no_float64_mps:
            raise ValueError("mps has no float64: use dtype float32 on mps, or another device")
    return torch.device(text)
