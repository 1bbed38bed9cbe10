"""The fused Triton kernel (CUDA fast path of the scan) equals the torch path it replaces."""
import importlib.util
import os

import pytest
import torch

from torch_neuron.engines import scan

needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")


def torch_path(x, y, lr, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("TORCH_NEURON_NO_TRITON", "1")
        return scan.epoch_map(x, y, lr, 1)


@needs_triton
@pytest.mark.cuda
@pytest.mark.parametrize("n", [1, 2047, 2048, 2049, 100_003])
def test_fused_epoch_map_equals_torch_path_on_cuda(n, monkeypatch):
    """Tile maps from the kernel, reduced, give the epoch map of the torch path (float64: ≤ 1e-12 relative)."""
    from torch_neuron.engines import fused
    g = torch.Generator().manual_seed(n)
    x = (torch.randn(n, generator=g, dtype=torch.float64) * 0.05).cuda()
    y = (torch.randn(n, generator=g, dtype=torch.float64) * 50 + 150).cuda()
    assert scan._fused_kernel(x, 0.9, 1) is fused
    got = scan.epoch_map(x, y, 0.9, 1)
    want = torch_path(x, y, 0.9, monkeypatch)
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12 * want.abs().max().item())


@needs_triton
@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1",
                    reason="run with TRITON_INTERPRET=1 to test the kernel on CPU")
def test_fused_kernel_in_triton_interpreter(bmi, monkeypatch):
    """On CPU through Triton's interpreter: the kernel's maps equal sgd_step's, for tiles that do not divide n."""
    from torch_neuron.engines import fused
    monkeypatch.setattr(fused, "TILE", 64)
    x, y = bmi
    got = scan.epoch_map(x, y, 0.7, 1)
    want = torch_path(x, y, 0.7, monkeypatch)
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12 * want.abs().max().item())


def test_fused_path_is_only_taken_where_it_applies():
    """Batches, leading dims and tensor learning rates keep the torch path; CPU data does too."""
    x = torch.zeros(3, dtype=torch.float64)
    assert scan._fused_kernel(x, 1.0, 1) is None or os.environ.get("TRITON_INTERPRET") == "1"
    assert scan._fused_kernel(x, 1.0, 2) is None
    assert scan._fused_kernel(x.view(1, 3), 1.0, 1) is None
    assert scan._fused_kernel(x, torch.ones(3), 1) is None
