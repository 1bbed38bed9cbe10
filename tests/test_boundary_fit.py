"""tn.fit's front door for the data (issue 14, item 9): every kind of x and y it admits gives the book's fit in
the dtype PyTorch's promotion gives; every kind it refuses raises TypeError or ValueError naming x or y,
and mutates nothing. The oracle and the helpers are in test_boundary.py.

The 'loop' engine is held to the oracle bit for bit (the same IEEE operations in the same order), the
default engine within 1e-12 (float64) or 1e-5 (float32), as in test_conformance.py.
"""

import inspect

import numpy as np
import pytest
import torch
from helpers import F64
from reference import B_100, W_100
from test_boundary import assert_fit, assert_refused, bits, oracle

import torch_neuron as tn

F32 = torch.float32
ENGINES = ["loop", "autograd", "scan", "auto"]
# six samples each: dyadic values, exact in every dtype they are drawn in; |x| ≤ 2 keeps lr 0.25 contracting
FX, FY = [0.5, -0.25, 0.75, 0.0, 0.5, -0.5], [1.5, 0.5, 2.0, 1.0, 1.75, 0.25]
IX, IY = [0, 1, 2, 1, 0, 2], [1, 3, 5, 3, 1, 4]
BX, BY = [True, False, True, True, False, True], [True, True, False, True, False, True]
FIT = {"lr": 0.25, "epochs": 3}


def rtol(engine, dtype):
    return 0.0 if engine == "loop" else 1e-12 if dtype == F64 else 1e-5


def samples(dtype, which):
    """x (which=0) or y (which=1) values that suit a torch or NumPy dtype: bools, small ints or dyadic floats."""
    kind = (
        ("b" if dtype == torch.bool else "f" if dtype.is_floating_point else "i")
        if isinstance(dtype, torch.dtype)
        else np.dtype(dtype).kind
    )
    return {"b": (BX, BY), "f": (FX, FY)}.get(kind, (IX, IY))[which]


def tensor(dtype, which=0):
    return torch.tensor(samples(dtype, which), dtype=dtype)


def array(dtype, which=0):
    return np.array(samples(dtype, which), dtype=dtype)


NUMPY_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "bool": np.bool_,
}
TORCH_DTYPES = {
    "float32": F32,
    "float64": F64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
DEFAULT = None  # the default dtype (torch.get_default_dtype()), read when the case runs

# id → () → (x, y, the dtype the fit must compute in)
ADMITTED = {
    "python float lists -> the default dtype": lambda: (FX, FY, DEFAULT),
    "python int lists -> the default dtype": lambda: (IX, IY, DEFAULT),
    "python bool lists -> the default dtype": lambda: (BX, BY, DEFAULT),
    "nested lists (1, n) -> one neuron of shape (1,)": lambda: ([FX], [FY], DEFAULT),
    **{
        f"numpy {name} x and y -> {name if dt in (np.float32, np.float64) else 'the default dtype'}": (
            lambda dt=dt: (array(dt), array(dt, 1), {np.float32: F32, np.float64: F64}.get(dt, DEFAULT))
        )
        for name, dt in NUMPY_DTYPES.items()
    },
    **{
        f"tensor {name} x and y -> {name if dt.is_floating_point else 'the default dtype'}": (
            lambda dt=dt: (tensor(dt), tensor(dt, 1), dt if dt.is_floating_point else DEFAULT)
        )
        for name, dt in TORCH_DTYPES.items()
    },
    "numpy float32 x, numpy float64 y -> float64": lambda: (array(np.float32), array(np.float64, 1), F64),
    "numpy float16 x, numpy float32 y -> float32": lambda: (array(np.float16), array(np.float32, 1), F32),
    "tensor float32 x, numpy float64 y -> float64": lambda: (tensor(F32), array(np.float64, 1), F64),
    "float list x, tensor float64 y -> float64": lambda: (FX, tensor(F64, 1), F64),
    "tensor float16 x, tensor float32 y -> float32": lambda: (tensor(torch.float16), tensor(F32, 1), F32),
    "tensor bfloat16 x, tensor float64 y -> float64": lambda: (tensor(torch.bfloat16), tensor(F64, 1), F64),
    "tensor bfloat16 x, tensor float16 y -> float32": lambda: (tensor(torch.bfloat16), tensor(torch.float16, 1), F32),
    "tensor int32 x, tensor float32 y -> float32": lambda: (tensor(torch.int32), tensor(F32, 1), F32),
    "tensor uint8 x, numpy int8 y -> the default dtype": lambda: (tensor(torch.uint8), array(np.int8, 1), DEFAULT),
    "non-contiguous x[::2], y[::2]": lambda: (
        tensor(F64).repeat_interleave(2)[::2],
        tensor(F64, 1).repeat_interleave(2)[::2],
        F64,
    ),
    "transposed views (n, 2).T -> two neurons": lambda: (
        torch.stack((tensor(F64), tensor(F64).flip(0)), 1).T,
        torch.stack((tensor(F64, 1), tensor(F64, 1)), 1).T,
        F64,
    ),
    "numpy reversed views a[::-1]": lambda: (array(np.float64)[::-1], array(np.float64, 1)[::-1], F64),
    "numpy big-endian float64 arrays -> float64": lambda: (
        array(np.float64).astype(">f8"),
        array(np.float64, 1).astype(">f8"),
        F64,
    ),
    "numpy Fortran-ordered (2, n) arrays -> two neurons": lambda: (
        np.asfortranarray([FX, FY]),
        np.asfortranarray([FY, FX]),
        F64,
    ),
}


@pytest.fixture(params=[F32, F64], ids=["default float32", "default float64"])
def default_dtype(request):
    """Run under torch.set_default_dtype(param), restored after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(old)


@pytest.mark.parametrize("engine", ["loop", "auto"])
@pytest.mark.parametrize("case", ADMITTED)
def test_admitted_data_gives_the_books_fit_in_the_promoted_dtype(case, engine, default_dtype):
    x, y, dtype = ADMITTED[case]()
    dtype = dtype or default_dtype
    before = bits(x), bits(y)
    result = tn.fit(x, y, engine=engine, **FIT)
    assert_fit(result, oracle(x, y, lr=0.25, epochs=3, dtype=dtype), dtype, rtol(engine, dtype))
    assert (bits(x), bits(y)) == before, "the fit changed its data"


def test_float64_arrays_fit_in_float64(bmi):
    """The issue's first finding: tn.fit(x.numpy(), y.numpy()) gave w = 913.5975341796875 (float32)."""
    x, y = bmi
    result = tn.fit(x.numpy(), y.numpy())
    assert result.w.dtype == F64
    assert result.w.item() == pytest.approx(W_100, rel=1e-12) and result.b.item() == pytest.approx(B_100, rel=1e-12)
    assert tn.fit(x.float(), y).w.dtype == F64  # float32 x with float64 y: float64


# ---- no graph, no .grad: fitting is not differentiable ---------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("grad", ["x", "y", "w", "b", "lr", "all"])
def test_requires_grad_inputs_give_a_plain_fit_and_keep_grad_none(engine, grad):
    x, y = tensor(F64), tensor(F64, 1)
    w, b, lr = torch.tensor([0.5, 2.0], dtype=F64), torch.tensor(-1.0, dtype=F64), torch.tensor(0.25, dtype=F64)
    given = {"x": x, "y": y, "w": w, "b": b, "lr": lr}
    for name, t in given.items():
        t.requires_grad_(grad in (name, "all"))
    result = tn.fit(x, y, w=w, b=b, lr=lr, epochs=3, engine=engine, history=True)
    assert_fit(result, oracle(x, y, w, b, lr, epochs=3), F64, rtol(engine, F64))
    for t in (result.w, result.b, *result.history):
        assert not t.requires_grad and t.grad_fn is None, "the fit returned a tensor with a graph"
    for name, t in given.items():
        assert t.grad is None, f"the fit wrote {name}.grad"
        assert t.requires_grad == (grad in (name, "all"))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("context", ["inference_mode", "no_grad", "inference tensors, fit outside"])
def test_every_engine_fits_inside_inference_mode_and_no_grad(engine, context):
    if context == "inference tensors, fit outside":
        with torch.inference_mode():
            x, y = tensor(F64), tensor(F64, 1)
        result = tn.fit(x, y, engine=engine, history=True, **FIT)
    else:
        x, y = tensor(F64), tensor(F64, 1)
        with torch.inference_mode() if context == "inference_mode" else torch.no_grad():
            result = tn.fit(x, y, engine=engine, history=True, **FIT)
    assert_fit(result, oracle(x, y, lr=0.25, epochs=3), F64, rtol(engine, F64))


# ---- refused data -----------------------------------------------------------------------------------


def _nan(values, at=2, v=float("nan")):
    return values[:at] + [v] + values[at + 1 :]


# id → () → (x, y, the error, the names one of which it must give)
REFUSED = {
    "complex tensor x": lambda: (tensor(F64).to(torch.complex64), tensor(F64, 1), TypeError, "x"),
    "complex tensor y": lambda: (tensor(F64), tensor(F64, 1).to(torch.complex128), TypeError, "y"),
    "complex numpy x": lambda: (array(np.float64).astype(np.complex128), FY, TypeError, "x"),
    "complex list y": lambda: (FX, [v + 1j for v in FY], TypeError, "y"),
    "a list of strings as x": lambda: (list("abcdef"), FY, TypeError, "x"),
    "a string as y": lambda: (FX, "abcdef", TypeError, "y"),
    "None as x": lambda: (None, FY, TypeError, "x"),
    "None as y": lambda: (FX, None, TypeError, "y"),
    "a list of objects as y": lambda: (FX, [object()] * 6, TypeError, "y"),
    "a numpy object array holding None as x": lambda: (np.array(FX[:5] + [None], dtype=object), FY, TypeError, "x"),
    "numpy longdouble x (no torch dtype holds it)": lambda: (array(np.longdouble), FY, TypeError, "x"),
    "a dict as x": lambda: ({"x": FX}, FY, TypeError, "x"),
    "0-dim tensor x": lambda: (torch.tensor(0.5, dtype=F64), tensor(F64, 1), ValueError, "x"),
    "0-dim tensor y": lambda: (tensor(F64), torch.tensor(0.5, dtype=F64), ValueError, "y"),
    "a Python number as x": lambda: (0.5, FY, ValueError, "x"),
    "different lengths": lambda: (tensor(F64), tensor(F64, 1)[:5], ValueError, ("x", "y")),
    "empty tensors": lambda: (tensor(F64)[:0], tensor(F64, 1)[:0], ValueError, ("x", "y")),
    "empty lists": lambda: ([], [], ValueError, ("x", "y")),
    "empty (3, 0) tensors": lambda: (
        torch.zeros(3, 0, dtype=F64),
        torch.zeros(3, 0, dtype=F64),
        ValueError,
        ("x", "y"),
    ),
    "NaN in tensor x": lambda: (torch.tensor(_nan(FX), dtype=F64), tensor(F64, 1), ValueError, "x"),
    "inf in tensor y": lambda: (tensor(F64), torch.tensor(_nan(FY, v=float("inf")), dtype=F64), ValueError, "y"),
    "-inf in numpy x": lambda: (np.array(_nan(FX, v=-np.inf)), FY, ValueError, "x"),
    "NaN in list y": lambda: (FX, _nan(FY), ValueError, "y"),
    "NaN in float32 x": lambda: (torch.tensor(_nan(FX), dtype=F32), tensor(F32, 1), ValueError, "x"),
    "NaN in neuron 1 of x (2, n)": lambda: (torch.tensor([FX, _nan(FX)], dtype=F64), tensor(F64, 1), ValueError, "x"),
    "leading dims (2, n) and (3, n)": lambda: (
        torch.zeros(2, 6, dtype=F64),
        torch.zeros(3, 6, dtype=F64),
        ValueError,
        ("x", "y"),
    ),
}


@pytest.mark.parametrize("engine", ["loop", "auto"])
@pytest.mark.parametrize("case", REFUSED)
def test_refused_data_raises_naming_x_or_y_and_mutates_nothing(case, engine):
    x, y, error, name = REFUSED[case]()
    w, b, lr = torch.tensor([0.5, 2.0], dtype=F64), torch.tensor(-1.0, dtype=F64), torch.tensor(0.25, dtype=F64)
    assert_refused(
        lambda: tn.fit(x, y, w=w, b=b, lr=lr, epochs=2, engine=engine),
        error,
        *((name,) if isinstance(name, str) else name),
        unchanged=(x, y, w, b, lr),
    )


# ---- (batch, 1): samples live in the last dim ---------------------------------------------------------

COLUMNS = {
    "x and y (n, 1) tensors": lambda: (tensor(F64)[:, None], tensor(F64, 1)[:, None], ("x", "y")),
    "x (n, 1), y (n,)": lambda: (tensor(F64)[:, None], tensor(F64, 1), ("x",)),
    "x (1, 1), y (n, 1)": lambda: (torch.ones(1, 1, dtype=F64), tensor(F64, 1)[:, None], ("y",)),
    "numpy (n, 1) arrays": lambda: (array(np.float64)[:, None], array(np.float64, 1)[:, None], ("x", "y")),
    "nested lists [[v] for v]": lambda: ([[v] for v in FX], [[v] for v in FY], ("x", "y")),
    "(2, 3, 1) tensors": lambda: (tensor(F64).reshape(2, 3, 1), tensor(F64, 1).reshape(2, 3, 1), ("x", "y")),
}


@pytest.mark.parametrize("case", COLUMNS)
def test_a_column_of_samples_is_refused_with_a_squeeze_hint(case):
    """PyTorch's (batch, 1) layout would read as n one-sample neurons: refused, the hint is squeeze(-1)."""
    x, y, name = COLUMNS[case]()
    message = assert_refused(lambda: tn.fit(x, y, epochs=2), ValueError, *name, unchanged=(x, y))
    assert "squeeze(-1)" in message


@pytest.mark.parametrize("shape", [(1, 1), (1, 6)], ids=["(1, 1): one neuron, one sample", "(1, n): one neuron"])
def test_one_row_is_one_neuron(shape):
    x, y = tensor(F64)[: shape[1]].reshape(shape), tensor(F64, 1)[: shape[1]].reshape(shape)
    assert_fit(tn.fit(x, y, engine="loop", **FIT), oracle(x, y, lr=0.25, epochs=3), F64)


# ---- dtype= and device= ------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["tensor float64", "tensor float32", "numpy int64", "float list"])
@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_dtype_given_converts_the_data(data, dtype):
    x, y = {
        "tensor float64": (tensor(F64), tensor(F64, 1)),
        "tensor float32": (tensor(F32), tensor(F32, 1)),
        "numpy int64": (array(np.int64), array(np.int64, 1)),
        "float list": (FX, FY),
    }[data]
    w = torch.tensor(2.0, dtype=F64)  # a float64 w follows dtype= too
    assert_fit(
        tn.fit(x, y, w=w, dtype=dtype, engine="loop", **FIT), oracle(x, y, w, lr=0.25, epochs=3, dtype=dtype), dtype
    )


@pytest.mark.parametrize(
    "dtype",
    [
        torch.int64,
        torch.int32,
        torch.bool,
        torch.complex64,
        torch.complex128,
        torch.float16,
        torch.bfloat16,
        "float64",
        np.float64,
        np.dtype("float64"),
    ],
    ids=repr,
)
def test_dtype_other_than_float32_or_float64_is_refused(dtype):
    x, y = tensor(F64), tensor(F64, 1)
    assert_refused(lambda: tn.fit(x, y, dtype=dtype, **FIT), TypeError, "dtype", unchanged=(x, y))


@pytest.mark.parametrize("maker", [tensor, array], ids=["tensors", "numpy arrays"])
@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_data_alone_is_refused_with_a_float32_hint(half, maker):
    """All inputs half (promotion gives float16 or bfloat16): refused, naming the dtype, suggesting float32;
    with dtype=torch.float32 the same data fits."""
    if maker is array and half == torch.bfloat16:
        pytest.skip("NumPy has no bfloat16")
    x, y = maker(half if maker is tensor else np.float16), maker(half if maker is tensor else np.float16, 1)
    message = assert_refused(lambda: tn.fit(x, y, **FIT), TypeError, str(half)[6:], unchanged=(x, y))
    assert "float32" in message, f"no hint to dtype=torch.float32: {message!r}"
    assert_fit(tn.fit(x, y, dtype=F32, engine="loop", **FIT), oracle(x, y, lr=0.25, epochs=3, dtype=F32), F32)


@pytest.mark.parametrize("device", [None, "cpu", torch.device("cpu")], ids=repr)
def test_device_given_or_taken_from_the_data(device):
    result = tn.fit(FX, tensor(F64, 1), device=device, engine="loop", **FIT)
    assert result.w.device.type == "cpu"
    assert_fit(result, oracle(FX, FY, lr=0.25, epochs=3), F64)


def _present(name):
    if name.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > int(name[5:] or 0):
        return True
    return name == "mps" and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


# ids "device=…": a bare "cuda" id would be read as the cuda marker by conftest and skipped on CPU machines
@pytest.mark.parametrize("device", ["cuda", "cuda:7", "mps", "tpu", "foo"], ids=lambda d: f"device={d}")
def test_a_device_that_is_not_there_is_named_as_not_available(device):
    if _present(device):
        pytest.skip(f"{device} is available here")
    x, y = tensor(F64), tensor(F64, 1)
    message = assert_refused(lambda: tn.fit(x, y, device=device, **FIT), ValueError, device, unchanged=(x, y))
    assert "is on cpu" not in message, message  # the data is moved, as dtype= converts it
    if device in ("cuda", "cuda:7", "mps"):
        assert "not available" in message, message


def test_data_on_two_devices_is_refused_naming_both():
    """device=None takes the tensors' device; x on meta and y on the CPU have none in common."""
    x, y = torch.ones(6, device="meta"), tensor(F64, 1)
    assert_refused(lambda: tn.fit(x, y, **FIT), ValueError, "x", "y", unchanged=(x, y))


# ---- keyword-only ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry, leading", [(tn.fit, ("x", "y")), (tn.fit_chunks, ("chunks",))], ids=["fit", "fit_chunks"]
)
def test_everything_after_the_data_is_keyword_only(entry, leading):
    params = inspect.signature(entry).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert positional == list(leading)
    assert {"w", "b", "epochs", "lr", "on_divergence"} <= {p.name for p in params if p.kind == p.KEYWORD_ONLY}


def test_positional_settings_are_a_type_error():
    """tn.fit(x, y, 10, 0.5) meant w=10, b=0.5 while Neuron.fit(x, y, 10, 0.5) means epochs=10, lr=0.5."""
    x, y = tensor(F64), tensor(F64, 1)
    with pytest.raises(TypeError):
        tn.fit(x, y, 10, 0.5)
    with pytest.raises(TypeError):
        tn.fit(x, y, 1.0)
    with pytest.raises(TypeError):
        tn.fit_chunks([(x, y)], 1.0)
