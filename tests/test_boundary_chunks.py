"""tn.fit_chunks' front door (issue 14, item 9): an iterable of (x, y) pairs, read once. Empty chunks are
skipped anywhere; the first non-empty chunk fixes the neuron dims and, with w, b and lr, the dtype; every
refusal names the chunk by its index. The same fit as tn.fit on the whole data (the scan's 1e-12)."""

import numpy as np
import pytest
import torch
from helpers import F64, random_data
from test_boundary import assert_fit, assert_refused, names, oracle
from torch.utils.data import DataLoader, TensorDataset

import torch_neuron as tn

F32 = torch.float32
KW = {"epochs": 3, "lr": 0.5}


def pieces(x, y, *cuts):
    """x, y (..., n) cut in the last dim at `cuts` (repeated cuts give empty chunks)."""
    ends = [*cuts, x.shape[-1]]
    return [(x[..., i:j], y[..., i:j]) for i, j in zip([0, *cuts], ends)]


@pytest.fixture
def xy():
    return random_data(4, 10)


@pytest.mark.parametrize(
    "cuts",
    [(0, 4), (4, 4, 7), (4, 10), (0, 0, 3, 3, 10, 10)],
    ids=["empty first", "empty in the middle", "empty last", "empty everywhere"],
)
def test_empty_chunks_are_skipped_anywhere(xy, cuts):
    x, y = xy
    assert_fit(tn.fit_chunks(pieces(x, y, *cuts), **KW), oracle(x, y, lr=0.5, epochs=3), F64, 1e-12)


@pytest.mark.parametrize(
    "chunks",
    [[], [(torch.zeros(0), torch.zeros(0))] * 3, iter(())],
    ids=["no chunks", "only empty chunks", "an empty iterator"],
)
def test_no_samples_at_all_is_a_value_error(chunks):
    with pytest.raises(ValueError):
        tn.fit_chunks(chunks, **KW)


@pytest.mark.parametrize("n", [5, 2], ids=["n 5", "n 2 (x unpacks into two numbers)"])
def test_a_bare_pair_is_not_an_iterable_of_pairs(n):
    x, y = random_data(0, n)
    message = assert_refused(lambda: tn.fit_chunks((x, y), **KW), TypeError, "chunk 0", unchanged=(x, y))
    assert "pairs" in message, message


NOT_PAIRS = {
    "a triple": lambda x, y: (x, y, x),
    "a lone tensor": lambda x, y: x,
    "None": lambda x, y: None,
    "a one-tuple": lambda x, y: (x,),
    "a number": lambda x, y: 3.0,
}


@pytest.mark.parametrize("bad", NOT_PAIRS)
def test_a_chunk_that_is_not_a_pair_is_named_by_its_index(xy, bad):
    x, y = xy
    chunks = [(x[:4], y[:4]), (x[4:6], y[4:6]), NOT_PAIRS[bad](x[6:], y[6:])]
    assert_refused(lambda: tn.fit_chunks(chunks, **KW), TypeError, "chunk 2", unchanged=(x, y))


def test_neuron_dims_are_fixed_by_the_first_non_empty_chunk(xy):
    """(1, n) then (3, n): the second chunk would change the neurons half-way; refused, naming chunk 2
    (chunk 0 is empty and skipped)."""
    x, y = xy
    chunks = [
        (torch.zeros(1, 0, dtype=F64), torch.zeros(1, 0, dtype=F64)),
        (x[None, :5], y[None, :5]),
        (x[5:].expand(3, 5), y[5:].expand(3, 5)),
    ]
    assert_refused(lambda: tn.fit_chunks(chunks, **KW), ValueError, "chunk 2", unchanged=(x, y))


BROADCAST = {
    "x (2, k) and y (3, k) in chunk 1": (
        lambda x, y: [(x[:5], y[:5]), (x[5:].expand(2, 5), y[5:].expand(3, 5))],
        {},
        "chunk 1",
    ),
    "chunk 0 (2, k) with w (3,)": (
        lambda x, y: [(x[:5].expand(2, 5), y[:5]), (x[5:].expand(2, 5), y[5:])],
        {"w": torch.ones(3, dtype=F64)},
        "chunk 0",
    ),
    "chunk 0 (2, k) with lr (3,)": (lambda x, y: [(x.expand(2, 10), y)], {"lr": [0.1, 0.2, 0.3]}, "chunk 0"),
}


@pytest.mark.parametrize("case", BROADCAST)
def test_chunks_that_do_not_broadcast_are_named(xy, case):
    make, kw, name = BROADCAST[case]
    x, y = xy
    message = assert_refused(lambda: tn.fit_chunks(make(x, y), **(KW | kw)), ValueError, name, unchanged=(x, y))
    assert "Expected" not in message and "size of tensor" not in message, message  # not torch's RuntimeError text


BAD_DATA = {
    "NaN in x of chunk 2": (lambda c: c[2][0].__setitem__(1, float("nan")), ValueError, ("x",)),
    "inf in y of chunk 1": (lambda c: c[1][1].__setitem__(0, float("inf")), ValueError, ("y",)),
    "complex x in chunk 1": (lambda c: c.__setitem__(1, (c[1][0].to(torch.complex128), c[1][1])), TypeError, ("x",)),
    "strings as y in chunk 2": (lambda c: c.__setitem__(2, (c[2][0], ["a"] * 3)), TypeError, ("y",)),
    "different lengths in chunk 1": (lambda c: c.__setitem__(1, (c[1][0], c[1][1][:1])), ValueError, ("x", "y")),
    "0-dim x in chunk 2": (lambda c: c.__setitem__(2, (c[2][0][0], c[2][1][0])), ValueError, ("x", "y")),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_in_a_chunk_is_named_with_its_index(xy, case):
    spoil, error, arg = BAD_DATA[case]
    x, y = xy
    chunks = [(a.clone(), b.clone()) for a, b in pieces(x, y, 4, 7)]
    spoil(chunks)
    message = assert_refused(lambda: tn.fit_chunks(chunks, **KW), error, *arg)
    index = case.rsplit(" ", 1)[1]
    assert names(message, f"chunk {index}"), message


# ---- PyTorch's DataLoader ------------------------------------------------------------------------------


def test_a_dataloader_in_the_batch_1_layout_is_refused_with_a_squeeze_hint(bmi):
    """TensorDataset(x[:, None], y[:, None]) gave two neurons (906.03, 652.27), silently."""
    x, y = bmi
    loader = DataLoader(TensorDataset(x[:, None], y[:, None]), batch_size=64)
    message = assert_refused(lambda: tn.fit_chunks(loader), ValueError, "chunk 0", unchanged=(x, y))
    assert "squeeze(-1)" in message, message


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_dataloader_of_1d_samples_gives_the_books_neuron(bmi, batch_size):
    """DataLoader(TensorDataset(x, y)) with 1-D x, y: one neuron, = tn.fit of the whole data (1e-12, float64)."""
    x, y = bmi
    got = tn.fit_chunks(DataLoader(TensorDataset(x, y), batch_size=64), batch_size=batch_size)
    want = tn.fit(x, y, batch_size=batch_size)
    assert got.w.shape == () and got.w.dtype == F64
    assert_fit(got, (want.w.double(), want.b.double()), F64, 1e-12)


# ---- dtype -------------------------------------------------------------------------------------------------

# id → () → (chunks, keyword arguments, the dtype the fit computes in)
DTYPES = {
    "float64 chunks -> float64": lambda x, y: ([(x[:4], y[:4]), (x[4:], y[4:])], {}, F64),
    "float32 chunks -> float32": lambda x, y: (
        [(x[:4].float(), y[:4].float()), (x[4:].float(), y[4:].float())],
        {},
        F32,
    ),
    "numpy float64 chunks -> float64": lambda x, y: (
        [(x[:4].numpy(), y[:4].numpy()), (x[4:].numpy(), y[4:].numpy())],
        {},
        F64,
    ),
    "float list chunks -> float32": lambda x, y: (
        [(x[:4].tolist(), y[:4].tolist()), (x[4:].tolist(), y[4:].tolist())],
        {},
        F32,
    ),
    "int64 chunks -> the default dtype": lambda x, y: (
        [((x[:4] * 5).long(), y[:4].long()), ((x[4:] * 5).long(), y[4:].long())],
        {},
        F32,
    ),
    "float64 chunks, dtype=torch.float32": lambda x, y: ([(x[:4], y[:4]), (x[4:], y[4:])], {"dtype": F32}, F32),
    "float32 chunks, a float64 w of one -> float64": lambda x, y: (
        [(x[:4].float(), y[:4].float()), (x[4:].float(), y[4:].float())],
        {"w": torch.ones(1, dtype=F64)},
        F64,
    ),
    "float32 then float64 chunks -> float32 (the first decides)": lambda x, y: (
        [(x[:4].float(), y[:4].float()), (x[4:], y[4:])],
        {},
        F32,
    ),
    "an empty float32 chunk, then float64 -> float64": lambda x, y: ([(x[:0].float(), y[:0].float()), (x, y)], {}, F64),
}


@pytest.mark.parametrize("case", DTYPES)
def test_chunks_fit_in_the_dtype_of_the_first_non_empty_chunk(xy, case):
    x, y = xy
    chunks, kw, dtype = DTYPES[case](x, y)
    xs = torch.cat([torch.as_tensor(np.asarray(c[0], dtype=np.float64)) for c in chunks])
    ys = torch.cat([torch.as_tensor(np.asarray(c[1], dtype=np.float64)) for c in chunks])
    want = oracle(xs, ys, kw.get("w", 1.0), lr=0.5, epochs=3, dtype=dtype)
    assert_fit(tn.fit_chunks(chunks, **(KW | kw)), want, dtype, 1e-12 if dtype == F64 else 1e-5)


@pytest.mark.parametrize("dtype", [torch.int64, torch.complex64, torch.float16, "float64"], ids=repr)
def test_fit_chunks_refuses_a_dtype_other_than_float32_or_float64(xy, dtype):
    x, y = xy
    assert_refused(lambda: tn.fit_chunks([(x, y)], dtype=dtype, **KW), TypeError, "dtype", unchanged=(x, y))


@pytest.mark.parametrize(
    "kw, error, name",
    [
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": 0}, ValueError, "lr"),
        ({"w": True}, TypeError, "w"),
        ({"history": "yes"}, TypeError, "history"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence"),
        ({"device": "cuda:7"}, ValueError, "cuda:7"),
    ],
    ids=repr,
)
def test_fit_chunks_names_a_refused_setting(xy, kw, error, name):
    x, y = xy
    assert_refused(
        lambda: tn.fit_chunks(((a, b) for a, b in pieces(x, y, 5)), **(KW | kw)), error, name, unchanged=(x, y)
    )


def test_fit_chunks_reads_a_generator_once(xy):
    x, y = xy
    gen = ((a, b) for a, b in pieces(x, y, 3, 6))
    assert_fit(tn.fit_chunks(gen, **KW), oracle(x, y, lr=0.5, epochs=3), F64, 1e-12)
