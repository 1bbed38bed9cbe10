"""Shared fixtures: the book's data, devices to run on, and the cuda marker's skip."""

import pytest
import torch

import torch_neuron as tn
from torch_neuron.book import book_fit

HAS_CUDA = torch.cuda.is_available()  # guarded: is_available() is safe without a GPU or driver


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    skip = pytest.mark.skip(reason="CUDA is not available on this machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


# Every device test runs on CPU, and on CUDA (marked) when present.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(scope="session")
def diabetes():
    return tn.load_diabetes()


@pytest.fixture(scope="session")
def bmi(diabetes):
    """The book's problem: x = bmi (column 2), y = target, float64 on CPU."""
    return diabetes.data[:, 2], diabetes.target


@pytest.fixture(scope="session")
def python_loop():
    """The source text's fit in plain Python floats (the reference every engine is held to) → the last (w, b)."""

    def fit(xs, ys, epochs=100, w=1.0, b=1.0):
        return book_fit(xs, ys, epochs, w, b)[-1] if epochs else (w, b)

    return fit
