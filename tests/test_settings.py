"""validate: a tensor on the neuron's device is accepted whether or not the device names its index."""

import pytest
import torch

import torch_neuron as tn
from torch_neuron.training.settings import same_device

D = torch.device


@pytest.fixture
def current_cuda_is_1(monkeypatch):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)  # only read when one side is CUDA


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("cpu", "cpu", True),
        ("cuda:1", "cuda", True),
        ("cuda", "cuda:1", True),
        ("cuda:0", "cuda", False),
        ("cuda:0", "cuda:1", False),
        ("cuda", "cuda", True),
        ("mps:0", "mps", True),
        ("cpu", "cuda", False),
    ],
)
def test_a_missing_index_is_the_current_device(current_cuda_is_1, a, b, same):
    assert same_device(D(a), D(b)) is same


@pytest.mark.cuda
def test_fit_chunks_takes_chunks_on_cuda_0_when_asked_for_cuda(bmi):
    x, y = (t.to("cuda:0") for t in bmi)
    got = tn.fit_chunks([(x[:200], y[:200]), (x[200:], y[200:])], device="cuda")
    want = tn.fit(x, y)
    assert torch.allclose(torch.stack((got.w, got.b)), torch.stack((want.w, want.b)), rtol=1e-12)
