"""Neuron(...), Neuron.fit and Neuron.predict at the front door (issue 14, item 9): one real number each for w
and b; the module's dtype decides the fit's (data converted to it, as for any nn.Module); a tensor on another
device is refused; and every refused input, and a fit that diverges, leaves w and b with their exact bits."""

import numpy as np
import pytest
import torch
from helpers import F64
from test_boundary import assert_fit, assert_refused, bits, oracle

import torch_neuron as tn
from torch_neuron import Neuron

F32 = torch.float32
FX, FY = [0.5, -0.25, 0.75, 0.0, 0.5, -0.5], [1.5, 0.5, 2.0, 1.0, 1.75, 0.25]
ENGINES = ["loop", "autograd", "scan", "auto"]


def neuron(dtype=F64):
    """A neuron away from the default start, so 'unchanged' cannot be confused with 'reset'."""
    return Neuron(w=0.3, b=-0.7, dtype=dtype)


def params(n):
    return bits(n.w), bits(n.b)


# ---- Neuron(...) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "w",
    [
        2,
        2.0,
        np.float64(2.0),
        np.float32(2.0),
        torch.tensor(2.0),
        torch.tensor([2.0]),
        torch.tensor([[2]]),
        np.array(2.0),
        np.array([2.0]),
    ],
    ids=repr,
)
def test_a_neuron_takes_one_real_number_of_any_kind(w):
    n = Neuron(w=w, b=w)
    assert n.w.item() == n.b.item() == 2.0 and n.w.shape == n.b.shape == ()
    assert n.w.dtype == torch.get_default_dtype()


@pytest.mark.parametrize(
    "kw, error, name",
    [
        ({"w": torch.ones(3)}, ValueError, "w"),
        ({"b": [1.0, 2.0]}, ValueError, "b"),
        ({"w": np.ones((2, 1))}, ValueError, "w"),
        ({"w": "1"}, TypeError, "w"),
        ({"b": None}, TypeError, "b"),
        ({"w": 1j}, TypeError, "w"),
        ({"b": torch.tensor(1 + 0j)}, TypeError, "b"),
    ],
    ids=[
        "w a tensor of 3",
        "b a list of 2",
        "w a (2, 1) array",
        "w a string",
        "b None",
        "w complex",
        "b a complex tensor",
    ],
)
def test_a_neuron_refuses_anything_but_one_real_number(kw, error, name):
    message = assert_refused(lambda: Neuron(**kw), error, name, unchanged=tuple(kw.values()))
    if error is ValueError:
        assert "one number" in message and "torch_neuron.fit" in message, message


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64, "float64"], ids=repr)
def test_a_neuron_refuses_a_dtype_that_is_not_floating(dtype):
    assert_refused(lambda: Neuron(dtype=dtype), TypeError, "dtype")


@pytest.mark.parametrize("device", ["cuda", "cuda:7", "mps", "foo"], ids=lambda d: f"device={d}")  # not the marker
def test_a_neuron_on_a_device_that_is_not_there_is_refused(device):
    if device == "cuda" and torch.cuda.is_available() or device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip(f"{device} is available here")
    if device == "mps" and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        pytest.skip("mps is available here")
    assert_refused(lambda: Neuron(device=device), ValueError, device)


# ---- Neuron.fit: positional epochs and lr, the module's dtype ------------------------------------------


def test_positional_arguments_of_neuron_fit_are_epochs_and_lr():
    x, y = torch.tensor(FX, dtype=F64), torch.tensor(FY, dtype=F64)
    a, b = neuron(), neuron()
    a.fit(x, y, 4, 0.5)
    b.fit(x, y, epochs=4, lr=0.5)
    assert params(a) == params(b)
    assert (a.w.item(), a.b.item()) == tuple(t.item() for t in oracle(x, y, 0.3, -0.7, 0.5, epochs=4))


# id → () → (x, y, the neuron's dtype)
CONVERTED = {
    "float64 data into a float32 neuron": lambda: (torch.tensor(FX, dtype=F64), torch.tensor(FY, dtype=F64), F32),
    "float32 data into a float64 neuron": lambda: (torch.tensor(FX), torch.tensor(FY), F64),
    "lists into a float64 neuron": lambda: (FX, FY, F64),
    "numpy float64 into a float32 neuron": lambda: (np.array(FX), np.array(FY), F32),
    "numpy int8 into a float64 neuron": lambda: (np.array([0, 1, 2, 1], np.int8), np.array([1, 3, 5, 2], np.int8), F64),
    "bool tensors into a float32 neuron": lambda: (
        torch.tensor([True, False, True]),
        torch.tensor([True, True, False]),
        F32,
    ),
    "bfloat16 x into a float64 neuron": lambda: (torch.tensor(FX, dtype=torch.bfloat16), torch.tensor(FY), F64),
    "non-contiguous x[::2] into a float64 neuron": lambda: (
        torch.tensor(FX * 2, dtype=F64)[::2],
        torch.tensor(FY * 2, dtype=F64)[::2],
        F64,
    ),
}


@pytest.mark.parametrize("engine", ["loop", "auto"])
@pytest.mark.parametrize("case", CONVERTED)
def test_neuron_fit_converts_the_data_to_the_neurons_dtype(case, engine):
    x, y, dtype = CONVERTED[case]()
    n = neuron(dtype)
    before = bits(x), bits(y)
    n.fit(x, y, epochs=3, lr=0.25, engine=engine)
    want = oracle(x, y, 0.3, -0.7, 0.25, epochs=3, dtype=dtype)  # the oracle rounds w, b to dtype first
    assert_fit(n, want, dtype, 0.0 if engine == "loop" else 1e-12 if dtype == F64 else 1e-5)
    assert (bits(x), bits(y)) == before


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("context", ["plain", "inference_mode", "no_grad"])
def test_neuron_fit_writes_no_grad_and_works_in_every_mode(engine, context):
    x, y = torch.tensor(FX, dtype=F64, requires_grad=True), torch.tensor(FY, dtype=F64)
    n = neuron()
    with (
        torch.inference_mode()
        if context == "inference_mode"
        else torch.no_grad()
        if context == "no_grad"
        else torch.enable_grad()
    ):
        history = n.fit(x, y, epochs=3, lr=0.25, engine=engine, history=True)
    assert x.grad is None and n.w.grad is None and n.b.grad is None
    assert all(not t.requires_grad for t in history)
    assert isinstance(n.w, torch.nn.Parameter) and n.w.requires_grad  # still a module's parameter
    assert_fit(n, oracle(x, y, 0.3, -0.7, 0.25, epochs=3), F64, 0.0 if engine == "loop" else 1e-12)


# ---- Neuron.fit refusals keep the parameters' bits --------------------------------------------------------

NAN = float("nan")
# id → (x, y, keyword arguments, the error, the argument it must name)
REFUSED = {
    "x on another device (meta)": (torch.ones(6, device="meta"), FY, {}, ValueError, "x"),
    "y on another device (meta)": (FX, torch.ones(6, device="meta"), {}, ValueError, "y"),
    "complex x": (torch.tensor(FX, dtype=torch.complex64), FY, {}, TypeError, "x"),
    "strings as y": (FX, list("abcdef"), {}, TypeError, "y"),
    "None as x": (None, FY, {}, TypeError, "x"),
    "0-dim x": (torch.tensor(1.0), FY, {}, ValueError, "x"),
    "different lengths": (FX, FY[:5], {}, ValueError, "x"),
    "empty": ([], [], {}, ValueError, "x"),
    "NaN in x": (FX[:5] + [NAN], FY, {}, ValueError, "x"),
    "inf in y": (FX, FY[:5] + [float("inf")], {}, ValueError, "y"),
    "x (n, 1)": (torch.tensor(FX)[:, None], torch.tensor(FY)[:, None], {}, ValueError, "x"),
    "x (2, n): many neurons": ([FX, FX], FY, {}, ValueError, "x"),
    "lr a tensor of two": (FX, FY, {"lr": torch.tensor([0.1, 0.2])}, ValueError, "lr"),
    "lr 0": (FX, FY, {"lr": 0}, ValueError, "lr"),
    "lr True": (FX, FY, {"lr": True}, TypeError, "lr"),
    "lr a string": (FX, FY, {"lr": "0.1"}, TypeError, "lr"),
    "epochs 2.0": (FX, FY, {"epochs": 2.0}, TypeError, "epochs"),
    "epochs -1": (FX, FY, {"epochs": -1}, ValueError, "epochs"),
    "batch_size 0": (FX, FY, {"batch_size": 0}, ValueError, "batch_size"),
    'shuffle "no"': (FX, FY, {"shuffle": "no"}, TypeError, "shuffle"),
    "seed 1.5": (FX, FY, {"seed": 1.5, "shuffle": True}, TypeError, "seed"),
    "seed 2**64": (FX, FY, {"seed": 2**64, "shuffle": True}, ValueError, "seed"),
    'engine "fast"': (FX, FY, {"engine": "fast"}, ValueError, "engine"),
    "engine None": (FX, FY, {"engine": None}, TypeError, "engine"),
    'history "yes"': (FX, FY, {"history": "yes"}, TypeError, "history"),
    "progress 1": (FX, FY, {"progress": 1}, TypeError, "progress"),
}


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("case", REFUSED)
def test_neuron_fit_refusals_keep_the_parameters_bits(case, dtype):
    x, y, kw, error, name = REFUSED[case]
    n = neuron(dtype)
    before = params(n)
    assert_refused(lambda: n.fit(x, y, **({"epochs": 2} | kw)), error, name, unchanged=(x, y))
    assert params(n) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_neuron_fit_that_diverges_keeps_the_old_w_and_b(bmi, engine):
    """lr 2 on the book's data: the epoch map grows without bound; TrainingDiverged, parameters untouched."""
    x, y = bmi
    n = neuron()
    before = params(n)
    with pytest.raises(tn.TrainingDiverged):
        n.fit(x, y, epochs=5 if engine == "autograd" else 100, lr=2.0, engine=engine)
    assert params(n) == before


# ---- Neuron.predict ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [
        [0.5, 2.0],
        np.array([0.5, 2.0]),
        torch.tensor([0.5, 2.0], dtype=F64),
        torch.tensor([1, 2]),
        torch.tensor([0.5, 2.0], requires_grad=True),
        0.5,
    ],
    ids=["list", "numpy float64", "tensor float64", "tensor int64", "requires_grad", "a number"],
)
@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_predict_takes_numbers_lists_arrays_tensors_in_the_neurons_dtype(x, dtype):
    n = neuron(dtype)
    got = n.predict(x)
    assert got.dtype == dtype and not got.requires_grad and got.grad_fn is None
    want = torch.as_tensor(np.asarray(x.detach() if torch.is_tensor(x) else x, dtype=np.float64)).to(dtype) * n.w + n.b
    assert torch.equal(got, want.detach())


@pytest.mark.parametrize(
    "x, error",
    [
        (torch.tensor([1j]), TypeError),
        (["a", "b"], TypeError),
        (None, TypeError),
        ([1.0, NAN], ValueError),
        (torch.ones(2, device="meta"), ValueError),
    ],
    ids=["complex", "strings", "None", "NaN", "on another device (meta)"],
)
def test_predict_refuses_naming_x(x, error):
    n = neuron()
    before = params(n)
    assert_refused(lambda: n.predict(x), error, "x", unchanged=(x,))
    assert params(n) == before
