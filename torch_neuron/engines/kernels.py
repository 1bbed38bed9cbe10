"""Which compiled kernel computes an epoch map, if any: the fused Triton one on CUDA (fused.py), the Numba one on
the CPU (cpu.py), each only where it applies and pays; otherwise scan.py's torch operations do the same work."""

import os

import torch

from ..shapes import broadcast_shapes


def _shape(lr):
    return lr.shape if torch.is_tensor(lr) else ()


def fused_kernel(x, y, lr, batch_size):
    """The Triton module when it applies (batch size 1, one float lr, CUDA or the interpreter), else None."""
    if batch_size != 1 or not isinstance(lr, float) or os.environ.get("TORCH_NEURON_NO_TRITON"):
        return None
    if not (x.is_cuda or os.environ.get("TRITON_INTERPRET") == "1"):
        return None
    if any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in (x, y)):  # vmap/grad: a kernel can't
        return None  # see the batch
    try:
        from . import fused
    except ImportError:  # no Triton: the torch path does the same work
        return None
    return fused


# The compiled CPU kernel (cpu.py), when to use it. Loading it costs ~1 s once a process (measured: import numba
# 0.4 s, its code from Numba's on-disk cache 0.6 s; compiling it, once after an install or a change, ~5 s a dtype,
# serial or threaded). The eager map costs ~14 ns a sample and neuron: 1M samples 14 ms (the kernel 1–4 ms), the
# book's 442 0.19 ms (the kernel 13 µs). So by default (TORCH_NEURON_KERNEL unset or auto) the epoch maps run in
# the kernel where this call's eager maps would cost about as much as loading it: samples × neurons × maps ≥
# COLD_S / EAGER_S (~70M); the maps' power and spectral radius, tiny, never pay for it. A choice by the problem
# alone, not by what the process ran before, so a fit gives the same bits in every process. TORCH_NEURON_KERNEL=
# numba runs all it can in the kernel (many small fits: the book's Neuron.fit 460 → 190 µs here, its engine part
# 316 → 35 µs), =eager nothing.
COLD_S = 1.0
EAGER_S = 14e-9
_CPU_DTYPES = (torch.float32, torch.float64)


def cpu_kernel(x, y, lr, maps=1):
    """cpu.py for epoch maps of x, y (`maps` of them, the caller says) when it applies and pays, else None."""
    choice = os.environ.get("TORCH_NEURON_KERNEL", "auto")
    if choice == "eager" or not plain_cpu(x, y, lr) or not x.shape[-1]:
        return None
    if y.dtype != x.dtype or (torch.is_tensor(lr) and lr.dtype != x.dtype):  # torch would promote: leave it to it
        return None
    if choice != "numba":
        neurons = broadcast_shapes(x.shape[:-1], y.shape[:-1], _shape(lr)).numel()
        if neurons * x.shape[-1] * maps * EAGER_S < COLD_S:
            return None
    return cpu_module()


def forced_kernel(M, *more):
    """cpu.py for the power or spectral radius of maps M under TORCH_NEURON_KERNEL=numba, where it applies."""
    if os.environ.get("TORCH_NEURON_KERNEL") != "numba" or not plain_cpu(M, *more):
        return None
    return cpu_module() if all(t.dtype == M.dtype for t in more) else None


_CPU: list = []  # cpu.py, or None where Numba is missing, once asked for


def cpu_module():
    if not _CPU:
        try:
            from . import cpu
        except ImportError:  # no Numba: the torch path does the same work
            cpu = None
        _CPU.append(cpu)
    return _CPU[0]


def plain_cpu(*values):
    """Whether the tensors among values are float32/64 on the CPU, strided, with no graph wanted, not traced,
    vmapped or under grad transforms: where a compiled kernel sees what torch ops would."""
    wrapped, grad = torch._C._functorch.is_functorch_wrapped_tensor, torch.is_grad_enabled()
    for t in values:  # a plain loop: this runs on every fit, and generator expressions cost µs
        if torch.is_tensor(t) and (
            not t.is_cpu
            or t.dtype not in _CPU_DTYPES
            or t.layout != torch.strided
            or (grad and t.requires_grad)
            or wrapped(t)
        ):
            return False
    return not torch.compiler.is_compiling()
