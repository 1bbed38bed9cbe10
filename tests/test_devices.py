"""get_device: 'auto' picks CUDA, then MPS, then CPU; a missing or malformed device is a clear ValueError."""

import pytest
import torch

from torch_neuron.devices import available_devices, get_device


@pytest.fixture
def machine(monkeypatch):
    """Pretend hardware: machine(cuda=N, mps=bool) patches what torch reports (nothing real is touched)."""

    def pretend(cuda=0, mps=False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return pretend


def test_cpu_is_always_there(machine):
    machine()
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert available_devices() == ["cpu"]


def test_auto_prefers_cuda_then_mps_then_cpu(machine):
    machine(cuda=2, mps=True)
    assert get_device() == torch.device("cuda")
    machine(cuda=0, mps=True)
    assert get_device("auto") == torch.device("mps")
    machine(cuda=0, mps=False)
    assert get_device("auto") == torch.device("cpu")


def test_auto_passes_over_mps_for_float64_and_mps_refuses_it(machine):
    """MPS has no float64: auto falls back to the CPU, an explicit 'mps' says why it can't."""
    machine(mps=True)
    assert get_device("auto", dtype=torch.float64) == torch.device("cpu")
    assert get_device("mps", dtype=torch.float32) == torch.device("mps")
    with pytest.raises(ValueError, match="float64"):
        get_device("mps", dtype=torch.float64)


def test_cuda_by_index(machine):
    machine(cuda=2)
    assert get_device("cuda:1") == torch.device("cuda:1")
    assert get_device("cuda") == torch.device("cuda")
    assert available_devices() == ["cpu", "cuda:0", "cuda:1"]


@pytest.mark.parametrize(
    "name, cuda, mps, listed",
    [
        ("cuda", 0, False, "available: cpu"),
        ("cuda:0", 0, True, "available: cpu, mps"),
        ("cuda:7", 2, False, "available: cpu, cuda:0, cuda:1"),
        ("mps", 1, False, "available: cpu, cuda:0"),
    ],
)
def test_an_unavailable_device_is_an_error_listing_what_is_available(machine, name, cuda, mps, listed):
    machine(cuda=cuda, mps=mps)
    with pytest.raises(ValueError, match=f"{name} is not available here.*{listed}$"):
        get_device(name)


@pytest.mark.parametrize(
    "name", ["gpu", "", "cuda:", "cuda:-1", "cuda:x", "cuda:1:2", "cpu:0", "mps:0", "auto:1", "tpu", None, 0]
)
def test_a_malformed_name_is_an_error(machine, name):
    machine(cuda=1)
    with pytest.raises(ValueError, match="device"):
        get_device(name)


def test_device_count_is_asked_only_after_is_available(monkeypatch):
    """Without a driver device_count() may fail or warn: it must not even be called."""

    def forbidden():
        raise AssertionError("device_count() called although CUDA is not available")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", forbidden)
    assert get_device("auto").type in ("cpu", "mps")
    assert "cuda:0" not in available_devices()
    with pytest.raises(ValueError, match="not available"):
        get_device("cuda")


def test_a_torch_without_mps_backend_still_works(monkeypatch):
    monkeypatch.delattr(torch.backends, "mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device("auto") == torch.device("cpu")
    assert available_devices() == ["cpu"]


def test_the_real_auto_device_holds_tensors():
    """On this machine, unpatched: auto names a device listed as available, and a tensor can live there."""
    device = get_device("auto", dtype=torch.float32)
    assert str(device) in available_devices() or f"{device}:0" in available_devices()
    assert torch.ones(2, device=device).sum().item() == 2.0


@pytest.mark.cuda
def test_real_cuda_devices_are_listed_and_usable():
    assert get_device("auto") == torch.device("cuda")
    assert "cuda:0" in available_devices()
    assert torch.ones(3, device=get_device("cuda:0")).sum().item() == 3.0
