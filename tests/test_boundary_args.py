"""tn.fit's front door for w, b, lr and the settings (issue 14, item 9), and the dtype promotion table drawn by
Hypothesis: every kind of x, y, w, b and lr against torch.result_type's rule (test_boundary.promoted)."""

import numpy as np
import pytest
import torch
from helpers import F64
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_boundary import REAL_DTYPES, as_f64, assert_fit, assert_refused, fit_dtype, oracle

import torch_neuron as tn

F32 = torch.float32
FX, FY = [0.5, -0.25, 0.75, 0.0, 0.5, -0.5], [1.5, 0.5, 2.0, 1.0, 1.75, 0.25]
IX = [0, 1, 2, 1, 0, 2]


def data(dtype=F64):
    return torch.tensor(FX, dtype=dtype), torch.tensor(FY, dtype=dtype)


# ---- w, b, lr: numbers, lists, arrays, tensors; their leading dims are neuron dims --------------------

# id → () → (x, the keyword arguments w, b, lr, the dtype the fit computes in); y is float64 FY unless x is
# float32, then float32 FY
PARAMS = {
    "w a Python int": lambda: (data()[0], {"w": 2}, F64),
    "w, b Python floats": lambda: (data()[0], {"w": 0.5, "b": -1.5}, F64),
    "w a list of two -> two neurons, float64": lambda: (data()[0], {"w": [0.5, 2.0]}, F64),
    "w a numpy float64 0-dim array": lambda: (data()[0], {"w": np.array(2.0)}, F64),
    "b a numpy float32 array of two -> float64": lambda: (data()[0], {"b": np.array([0.5, -1.0], np.float32)}, F64),
    "w an int64 tensor of two": lambda: (data()[0], {"w": torch.tensor([1, 2])}, F64),
    "b a float32 0-dim tensor": lambda: (data()[0], {"b": torch.tensor(-1.0)}, F64),
    "lr a list of two -> two neurons": lambda: (data()[0], {"lr": [0.25, 0.5]}, F64),
    "lr a numpy array of two": lambda: (data()[0], {"lr": np.array([0.25, 0.5])}, F64),
    "lr a float64 0-dim tensor": lambda: (data()[0], {"lr": torch.tensor(0.5, dtype=F64)}, F64),
    "lr a Python int": lambda: (data()[0], {"lr": 1}, F64),
    "lr an int64 tensor of one": lambda: (data()[0], {"lr": torch.tensor([1])}, F64),
    "w, b, lr of shapes (2, 1), (3,), (1,) -> (2, 3) neurons": lambda: (
        data()[0],
        {"w": [[0.5], [2.0]], "b": torch.tensor([0.0, 1.0, 2.0], dtype=F64), "lr": [0.25]},
        F64,
    ),
    "float32 x with a float64 w of two -> float64": lambda: (
        data(F32)[0],
        {"w": torch.tensor([1.0, 2.0], dtype=F64)},
        F64,
    ),
    "float32 x with a float64 0-dim w -> float32": lambda: (data(F32)[0], {"w": torch.tensor(2.0, dtype=F64)}, F32),
    "float32 x with a numpy float64 0-dim b -> float32": lambda: (data(F32)[0], {"b": np.array(2.0)}, F32),
    "float32 x with a list w -> float32": lambda: (data(F32)[0], {"w": [1.0, 2.0]}, F32),
}


@pytest.mark.parametrize("engine", ["loop", "auto"])
@pytest.mark.parametrize("case", PARAMS)
def test_w_b_lr_of_every_kind_give_each_neuron_its_fit(case, engine):
    x, kw, dtype = PARAMS[case]()
    y = torch.tensor(FY, dtype=x.dtype)
    kw = {"lr": 0.25} | kw
    result = tn.fit(x, y, epochs=3, engine=engine, **kw)
    want = oracle(x, y, kw.get("w", 1.0), kw.get("b", 1.0), kw["lr"], epochs=3, dtype=dtype)
    assert_fit(result, want, dtype, 0.0 if engine == "loop" else 1e-12 if dtype == F64 else 1e-5)


def test_int_data_with_a_float64_0_dim_w_fits_in_float64():
    """A 0-dim tensor of a higher category outranks dimensioned data: int x, y with w = tensor(2., float64)."""
    x, y = torch.tensor(IX), torch.tensor(IX)
    w = torch.tensor(0.5, dtype=F64)
    assert_fit(tn.fit(x, y, w=w, lr=0.25, epochs=3, engine="loop"), oracle(x, y, w, lr=0.25, epochs=3), F64)


NAN, INF = float("nan"), float("inf")
# id → (keyword arguments, the error, the argument it must name)
BAD_PARAMS = {
    "w NaN": ({"w": NAN}, ValueError, "w"),
    "b inf": ({"b": INF}, ValueError, "b"),
    "w a tensor holding NaN": ({"w": torch.tensor([1.0, NAN], dtype=F64)}, ValueError, "w"),
    "b a numpy array holding -inf": ({"b": np.array([0.0, -np.inf])}, ValueError, "b"),
    "lr 0": ({"lr": 0.0}, ValueError, "lr"),
    "lr -1": ({"lr": -1}, ValueError, "lr"),
    "lr NaN": ({"lr": NAN}, ValueError, "lr"),
    "lr inf": ({"lr": INF}, ValueError, "lr"),
    "lr a list holding 0": ({"lr": [0.5, 0.0]}, ValueError, "lr"),
    "lr a tensor holding -1": ({"lr": torch.tensor([0.5, -1.0], dtype=F64)}, ValueError, "lr"),
    "w True": ({"w": True}, TypeError, "w"),
    "b False": ({"b": False}, TypeError, "b"),
    "lr True": ({"lr": True}, TypeError, "lr"),
    "w a bool tensor": ({"w": torch.tensor(True)}, TypeError, "w"),
    "lr a numpy bool_": ({"lr": np.bool_(True)}, TypeError, "lr"),
    "b a bool array": ({"b": np.array([True, False])}, TypeError, "b"),
    "w a string": ({"w": "1"}, TypeError, "w"),
    "b None": ({"b": None}, TypeError, "b"),
    "lr None": ({"lr": None}, TypeError, "lr"),
    "lr a string": ({"lr": "0.1"}, TypeError, "lr"),
    "w complex": ({"w": 1j}, TypeError, "w"),
    "lr a complex tensor": ({"lr": torch.tensor(0.5 + 0j)}, TypeError, "lr"),
    "w a list holding a string": ({"w": [1.0, "a"]}, TypeError, "w"),
    "w (3,) with x (2, n)": ({"w": torch.ones(3, dtype=F64)}, ValueError, "w"),
    "lr (3,) with x (2, n)": ({"lr": [0.1, 0.2, 0.3]}, ValueError, "lr"),
}


@pytest.mark.parametrize("case", BAD_PARAMS)
def test_refused_w_b_lr_raise_naming_it_and_mutate_nothing(case):
    kw, error, name = BAD_PARAMS[case]
    x, y = torch.tensor([FX, FX], dtype=F64), torch.tensor(FY, dtype=F64)
    assert_refused(lambda: tn.fit(x, y, epochs=2, **kw), error, name, unchanged=(x, y, *kw.values()))


# ---- the settings' types ----------------------------------------------------------------------------

BAD_SETTINGS = {
    'shuffle "no"': ({"shuffle": "no"}, TypeError, "shuffle"),
    "shuffle 1": ({"shuffle": 1}, TypeError, "shuffle"),
    "shuffle None": ({"shuffle": None}, TypeError, "shuffle"),
    "seed 1.5": ({"seed": 1.5}, TypeError, "seed"),
    "seed 2**64": ({"seed": 2**64}, ValueError, "seed"),
    "seed -2**63 - 1": ({"seed": -(2**63) - 1}, ValueError, "seed"),
    "seed True": ({"seed": True}, TypeError, "seed"),
    'seed "1"': ({"seed": "1"}, TypeError, "seed"),
    "seed None": ({"seed": None}, TypeError, "seed"),
    "seed a numpy float": ({"seed": np.float64(1.0)}, TypeError, "seed"),
    "epochs 10.0": ({"epochs": 10.0}, TypeError, "epochs"),
    'epochs "3"': ({"epochs": "3"}, TypeError, "epochs"),
    "epochs None": ({"epochs": None}, TypeError, "epochs"),
    "epochs True": ({"epochs": True}, TypeError, "epochs"),
    "epochs -1": ({"epochs": -1}, ValueError, "epochs"),
    "batch_size 10.0": ({"batch_size": 10.0}, TypeError, "batch_size"),
    "batch_size None": ({"batch_size": None}, TypeError, "batch_size"),
    "batch_size True": ({"batch_size": True}, TypeError, "batch_size"),
    "batch_size 0": ({"batch_size": 0}, ValueError, "batch_size"),
    "batch_size -1": ({"batch_size": -1}, ValueError, "batch_size"),
    'engine "fast"': ({"engine": "fast"}, ValueError, "engine"),
    'engine ""': ({"engine": ""}, ValueError, "engine"),
    "engine None": ({"engine": None}, TypeError, "engine"),
    "engine 1": ({"engine": 1}, TypeError, "engine"),
    'history "yes"': ({"history": "yes"}, TypeError, "history"),
    "history 1": ({"history": 1}, TypeError, "history"),
    'progress "yes"': ({"progress": "yes"}, TypeError, "progress"),
    "progress 1": ({"progress": 1}, TypeError, "progress"),
    'on_divergence "ignore"': ({"on_divergence": "ignore"}, ValueError, "on_divergence"),
    'on_divergence "NaN"': ({"on_divergence": "NaN"}, ValueError, "on_divergence"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_refused_settings_raise_naming_the_setting(case):
    kw, error, name = BAD_SETTINGS[case]
    x, y = data()
    kw = {"shuffle": True, "epochs": 2} | kw  # shuffled, so that seed is used
    assert_refused(lambda: tn.fit(x, y, **kw), error, name, unchanged=(x, y))


# id → (the setting as given, the same setting as a Python value)
SAME_SETTINGS = {
    "shuffle numpy.bool_(True)": ({"shuffle": np.bool_(True)}, {"shuffle": True}),
    "seed numpy.int64(3)": ({"seed": np.int64(3), "shuffle": True}, {"seed": 3, "shuffle": True}),
    "seed numpy.uint64(2**64 - 1)": (
        {"seed": np.uint64(2**64 - 1), "shuffle": True},
        {"seed": 2**64 - 1, "shuffle": True},
    ),
    "seed -2**63": ({"seed": -(2**63), "shuffle": True}, None),
    "epochs numpy.int64(3)": ({"epochs": np.int64(3)}, {"epochs": 3}),
    "batch_size numpy.int32(2)": ({"batch_size": np.int32(2)}, {"batch_size": 2}),
}


@pytest.mark.parametrize("case", SAME_SETTINGS)
def test_numpy_scalars_are_admitted_as_the_python_values(case):
    given_, plain = SAME_SETTINGS[case]
    x, y = data()
    got = tn.fit(x, y, engine="loop", **({"epochs": 2} | given_))
    if plain is not None:
        want = tn.fit(x, y, engine="loop", **({"epochs": 2} | plain))
        assert torch.equal(got.w, want.w) and torch.equal(got.b, want.b)
    assert torch.isfinite(got.w).all()


@pytest.mark.parametrize("data_dtype, dtype", [(F64, F64), (F32, F32), (torch.int64, None)], ids=str)
def test_zero_epochs_give_the_start_in_the_promoted_dtype(data_dtype, dtype):
    x, y = torch.tensor(IX, dtype=data_dtype), torch.tensor(IX, dtype=data_dtype)
    result = tn.fit(x, y, w=0.5, b=-2, epochs=0, history=True)
    start = torch.tensor(0.5, dtype=F64), torch.tensor(-2.0, dtype=F64)
    assert_fit(result, start, dtype or torch.get_default_dtype())
    assert result.history.w.shape == (0,)


# ---- the promotion table, drawn ----------------------------------------------------------------------

NUMPY_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]


def _kind(dtype):
    """'b', 'i' or 'f' for a torch dtype, a NumPy dtype or a Python type."""
    if isinstance(dtype, torch.dtype):
        return "b" if dtype == torch.bool else "f" if dtype.is_floating_point else "i"
    return {bool: "b", int: "i", float: "f"}.get(dtype) or np.dtype(dtype).kind.replace("u", "i")


@st.composite
def operand(draw, samples, number, *, forms):
    """x or y (samples: {kind: values}) in one of forms 'list', 'numpy', 'tensor'; or w, b, lr (number:
    {kind: value}) as a Python number or a 0-dim / one-element numpy array, tensor or list."""
    form = draw(st.sampled_from(forms))
    if form in ("list", "list1"):
        dtype = draw(st.sampled_from([bool, int, float] if samples else [int, float]))
    elif form.startswith("numpy"):
        dtype = draw(st.sampled_from(NUMPY_DTYPES if samples else NUMPY_DTYPES[1:]))
    elif form == "python":
        dtype = draw(st.sampled_from([int, float]))
    else:
        dtype = draw(st.sampled_from(REAL_DTYPES if samples else REAL_DTYPES[1:]))
    v = samples[_kind(dtype)] if samples else number[_kind(dtype)]
    if form == "list":
        return [dtype(e) for e in v]
    if form == "python":
        return dtype(v)
    if form == "list1":
        return [dtype(v)]
    if form.startswith("numpy"):
        return np.array(v if form != "numpy1" else [v], dtype=dtype)
    return torch.tensor(v if form != "tensor1" else [v], dtype=dtype)


DATA_FORMS = ["list", "numpy", "tensor"]
PARAM_FORMS = ["python", "numpy0", "numpy1", "tensor0", "tensor1", "list1"]
X_VALUES = {"b": [1, 0, 1, 1, 0, 1], "i": IX, "f": FX}
Y_VALUES = {"b": [1, 1, 0, 1, 0, 1], "i": [1, 3, 5, 3, 1, 4], "f": FY}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=operand(X_VALUES, None, forms=DATA_FORMS),
    y=operand(Y_VALUES, None, forms=DATA_FORMS),
    w=operand(None, {"i": 2, "f": 0.5}, forms=PARAM_FORMS),
    b=operand(None, {"i": 0, "f": -1.5}, forms=PARAM_FORMS),
    lr=operand(None, {"i": 1, "f": 0.25}, forms=PARAM_FORMS),
    default=st.sampled_from([F32, F64]),
)
def test_every_kind_of_every_argument_fits_in_the_promoted_dtype(x, y, w, b, lr, default):
    """x, y, w, b, lr each a list, NumPy array or tensor (w, b, lr also Python numbers, 0-dim or not) of any
    real dtype: the fit computes in torch.result_type's dtype over all five (integral → the default dtype),
    and gives the book's loop in that dtype bit for bit ('loop' engine); a half-precision result is refused."""
    if as_f64(lr).reshape(-1)[0] == 1 and as_f64(x).max() > 0.75:
        # lr 1 contracts for |x| < 1 only: all-zero x then (b learns, w stays)
        x = (
            [type(v)(0) for v in x]
            if isinstance(x, list)
            else np.zeros_like(x)
            if isinstance(x, np.ndarray)
            else torch.zeros_like(x)
        )
    old = torch.get_default_dtype()
    torch.set_default_dtype(default)
    try:
        dtype = fit_dtype(x, y, w, b, lr)
        if dtype in (torch.float16, torch.bfloat16):
            message = assert_refused(
                lambda: tn.fit(x, y, w=w, b=b, lr=lr, epochs=2, engine="loop"),
                TypeError,
                str(dtype)[6:],
                unchanged=(x, y, w, b, lr),
            )
            assert "float32" in message
            return
        result = tn.fit(x, y, w=w, b=b, lr=lr, epochs=2, engine="loop")
        assert_fit(result, oracle(x, y, w, b, lr, epochs=2, dtype=dtype), dtype)
    finally:
        torch.set_default_dtype(old)
