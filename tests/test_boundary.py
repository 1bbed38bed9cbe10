"""The boundary as a spec (issue 14, items 9 and 10): the shared oracle, and the documented shuffle order.

The modules test_boundary_*.py walk each public entry (tn.fit, tn.fit_chunks, Neuron(...), Neuron.fit,
Neuron.predict) with each kind of argument. An admitted input must give the book loop's fit in the dtype
PyTorch's type promotion gives; a refused one raises TypeError or ValueError naming the argument and
changes nothing. The independent references live here and use no engine of the package:

- `loop_oracle`: the book's per-sample loop in NumPy scalars of the fit's dtype (each operation rounded to
  float32 or float64, as torch's CPU kernels round it), so the 'loop' engine is held to it bit for bit;
- `promoted`: torch.result_type's rule over many operands (dimensioned tensors outrank 0-dim tensors,
  which outrank Python numbers, within the highest category bool < int < float), written with
  torch.promote_types only and checked here against torch.result_type itself;
- `shuffle_orders`: the documented order of a seeded shuffle, restated from the docs, not imported.
"""

import functools
import itertools
import re

import numpy as np
import pytest
import torch
from helpers import F64, random_data
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import B_1, W_1

import torch_neuron as tn
from torch_neuron.book import book_fit

NP_SCALAR = {torch.float64: np.float64, torch.float32: np.float32}
# torch internals that a refusal must not show the user (issue 14's findings)
LEAKS = (
    "too many dimensions",
    "too many values to unpack",
    "Overflow when unpacking",
    "only one element tensors",
    "not enough values to unpack",
    "Expected one of cpu",
)


# ---- the oracle: the book's loop, in scalars of the fit's dtype ------------------------------------


def loop_oracle(xs, ys, w=1.0, b=1.0, lr=1.0, *, epochs, dtype=F64, orders=None):
    """The book's per-sample loop → [(w, b) after each epoch] as Python floats.

    Every value and every operation is rounded to `dtype` (NumPy scalars), in the book's order:
    err = ŷ − y, w −= lr·(x·err), b −= lr·err. orders: one list of sample indices per epoch.
    """
    c = NP_SCALAR[dtype]
    xs, ys = [c(v) for v in xs], [c(v) for v in ys]
    w, b, lr = c(w), c(b), c(lr)
    out = []
    with np.errstate(all="ignore"):
        for e in range(epochs):
            for i in orders[e] if orders is not None else range(len(xs)):
                err = xs[i] * w + b - ys[i]
                w, b = w - lr * (xs[i] * err), b - lr * err
            out.append((float(w), float(b)))
    return out


def as_f64(v):
    """A number, list, array or tensor → a float64 CPU tensor of the same values (exact for every real dtype)."""
    if torch.is_tensor(v):
        return v.detach().cpu().double()
    return torch.as_tensor(np.array(v, dtype=np.float64))  # a copy: reversed views have negative strides


def oracle(x, y, w=1.0, b=1.0, lr=1.0, *, epochs, dtype=F64, orders=None):
    """loop_oracle for every neuron of the broadcast shape of x, y (..., n) and w, b, lr (...), each alone,
    in `dtype` → the last (w, b), float64 tensors of the neuron shape holding `dtype`'s values."""
    x, y, w, b, lr = map(as_f64, (x, y, w, b, lr))
    shape = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1], w.shape, b.shape, lr.shape)
    x, y = x.expand(*shape, x.shape[-1]), y.expand(*shape, y.shape[-1])
    w, b, lr = (t.expand(shape) for t in (w, b, lr))
    out = torch.empty(2, *shape, dtype=F64)
    for i in itertools.product(*map(range, shape)):
        start = (float(NP_SCALAR[dtype](w[i].item())), float(NP_SCALAR[dtype](b[i].item())))
        run = loop_oracle(
            x[i].tolist(),
            y[i].tolist(),
            w[i].item(),
            b[i].item(),
            lr[i].item(),
            epochs=epochs,
            dtype=dtype,
            orders=orders,
        )
        out[(slice(None), *i)] = torch.tensor(run[-1] if run else start, dtype=F64)
    return out[0], out[1]


def assert_fit(result, want, dtype, rtol=0.0):
    """A FitResult in `dtype` whose (w, b) is the oracle's: bit for bit (rtol 0), else within rtol norm-wise."""
    assert result.w.dtype == result.b.dtype == dtype, f"fit in {result.w.dtype}, expected {dtype}"
    got = torch.stack((result.w, result.b)).detach().cpu().double()
    want = torch.stack(want)
    assert got.shape == want.shape, f"neuron shape {tuple(got.shape[1:])}, expected {tuple(want.shape[1:])}"
    if rtol == 0:
        assert torch.equal(got, want), f"got {got.tolist()}, expected {want.tolist()}"
    else:
        err, scale = (got - want).abs().max().item(), want.abs().max().item()
        assert err <= rtol * scale, f"got {got.tolist()}, expected {want.tolist()} (rtol {rtol:g})"


# ---- torch's type promotion over many operands -----------------------------------------------------


def _category(dtype):
    return 0 if dtype == torch.bool else 2 if dtype.is_floating_point else 1


def promoted(*probes):
    """The dtype torch.result_type's rule gives over all of `probes` at once (tensors and Python numbers).

    Each tier (Python numbers, 0-dim tensors, dimensioned tensors) is promoted within itself; a higher tier
    keeps its dtype unless a lower one is of a higher category (bool < int < float), which then promotes it.
    A Python float counts as the default dtype, a Python int as int64, a bool as bool.
    """

    def number(v):
        return torch.bool if isinstance(v, bool) else torch.int64 if isinstance(v, int) else torch.get_default_dtype()

    tiers = (
        [number(p) for p in probes if not torch.is_tensor(p)],
        [p.dtype for p in probes if torch.is_tensor(p) and p.dim() == 0],
        [p.dtype for p in probes if torch.is_tensor(p) and p.dim() > 0],
    )
    result = None
    for tier in tiers:  # lowest first
        if not tier:
            continue
        here = functools.reduce(torch.promote_types, tier)
        result = here if result is None or _category(result) <= _category(here) else torch.promote_types(here, result)
    return result


def fit_dtype(*operands):
    """The dtype a fit over these x, y, w, b, lr computes in (dtype=None): promotion of their probes, an
    integral or bool result read as the default dtype. Arrays keep their dtype; lists follow torch.as_tensor."""
    probes = [v if isinstance(v, (int, float)) else torch.as_tensor(v) for v in operands]
    dtype = promoted(*probes)
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


REAL_DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
]


@st.composite
def probes(draw):
    """A probe: a Python number, a 0-dim tensor or a dimensioned one, of a real dtype."""
    kind = draw(st.sampled_from(["number", "zero", "dim"]))
    if kind == "number":
        return draw(st.sampled_from([True, 2, 2.5]))
    return torch.ones((1,) if kind == "dim" else (), dtype=draw(st.sampled_from(REAL_DTYPES)))


@settings(max_examples=300, deadline=None)
@given(a=probes(), b=probes(), c=probes())
def test_promoted_is_torchs_own_promotion(a, b, c):
    """The rule agrees with torch.result_type on pairs, and with a three-input op (addcmul) on triples."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        assert promoted(a, b) == torch.result_type(a, b)
    tensors = [p for p in (a, b, c) if torch.is_tensor(p)]
    if len(tensors) == 3 and all(t.dtype != torch.bool for t in tensors):
        assert promoted(a, b, c) == torch.addcmul(a, b, c).dtype


def test_promoted_is_not_a_pairwise_fold():
    """An int x with a float64 0-dim w and a Python float b: float64 jointly, float32 folded pairwise."""
    x, w = torch.ones(3, dtype=torch.int32), torch.tensor(1.0, dtype=F64)
    assert promoted(x, w, 0.5) == F64 == torch.addcmul(x, w, torch.tensor(0.5)).dtype


def test_the_oracle_is_the_books_loop(bmi):
    """loop_oracle in float64 at lr 1 = book_fit, bit for bit (and the reference numbers after one epoch)."""
    x, y = bmi
    got = loop_oracle(x.tolist(), y.tolist(), epochs=2)
    assert got == book_fit(x.tolist(), y.tolist(), 2)
    assert got[0] == (W_1, B_1)


# ---- item 10: the documented shuffle order, restated ----------------------------------------------


def shuffle_orders(n, epochs, seed):
    """The documented order: epoch e's order is randperm(n) from a Generator seeded with seeds[e], where
    seeds = randint(0, 2**62, (epochs,)) from a Generator seeded with the fit's seed."""
    seeds = torch.randint(0, 2**62, (epochs,), generator=torch.Generator().manual_seed(seed)).tolist()
    return [torch.randperm(n, generator=torch.Generator().manual_seed(s)).tolist() for s in seeds]


@pytest.mark.parametrize("seed", [0, 1, 7, 2**40 + 3, 2**64 - 1, -5])
def test_a_seeded_shuffle_follows_the_documented_order(seed):
    """tn.fit(shuffle=True, seed=s, engine='loop') = the book's loop over the documented orders, bit for bit
    (float64, every epoch); seed s + 1 gives another fit (a shift of every user's seeds fails here)."""
    x, y = random_data(11, 12)
    xs, ys = x.tolist(), y.tolist()
    epochs = 3
    want = loop_oracle(xs, ys, epochs=epochs, orders=shuffle_orders(12, epochs, seed))
    # the same, through book_fit itself: one epoch at a time over the permuted samples
    w, b, book = 1.0, 1.0, []
    for order in shuffle_orders(12, epochs, seed):
        ((w, b),) = book_fit([xs[i] for i in order], [ys[i] for i in order], 1, w, b)
        book.append((w, b))
    assert want == book
    got = tn.fit(x, y, shuffle=True, seed=seed, engine="loop", epochs=epochs, history=True)
    assert list(zip(got.history.w.tolist(), got.history.b.tolist())) == want
    assert (got.w.item(), got.b.item()) == want[-1]
    other = tn.fit(x, y, shuffle=True, seed=seed + 1 if seed < 2**64 - 1 else seed - 1, engine="loop", epochs=epochs)
    assert (other.w.item(), other.b.item()) != want[-1]


@pytest.mark.parametrize("engine", ["auto", "scan", "autograd"])
def test_every_engine_shuffles_in_the_documented_order(engine):
    """The other engines follow the same orders (within the scan's 1e-12; batches of 3 over 12 samples)."""
    x, y = random_data(5, 12)
    orders = shuffle_orders(12, 3, 42)
    got = tn.fit(x, y, shuffle=True, seed=42, engine=engine, epochs=3, batch_size=3, lr=0.5)
    # the oracle with batches: plain Python means over each batch of the documented order
    w, b = 1.0, 1.0
    xs, ys = x.tolist(), y.tolist()
    for order in orders:
        for s in range(0, 12, 3):
            batch = order[s : s + 3]
            err = [xs[i] * w + b - ys[i] for i in batch]
            w, b = w - 0.5 * sum(xs[i] * e for i, e in zip(batch, err)) / 3, b - 0.5 * sum(err) / 3
    assert got.w.item() == pytest.approx(w, rel=1e-12) and got.b.item() == pytest.approx(b, rel=1e-12)


def test_neuron_fit_shuffles_in_the_documented_order():
    x, y = random_data(3, 10)
    neuron = tn.Neuron(dtype=F64)
    neuron.fit(x, y, epochs=2, shuffle=True, seed=9, engine="loop")
    assert (neuron.w.item(), neuron.b.item()) == loop_oracle(
        x.tolist(), y.tolist(), epochs=2, orders=shuffle_orders(10, 2, 9)
    )[-1]


# ---- refusals: the error names the argument, and nothing changed -----------------------------------


def names(message, *candidates):
    """Whether the message names one of the candidates as a word (x, y, w, lr, chunk 2, cuda:7 …)."""
    return any(re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", message) for c in candidates)


def bits(v):
    """What must not change: a tensor's dtype, shape, bytes, requires_grad and grad; an array's bytes."""
    if torch.is_tensor(v) and v.is_meta:  # no data to compare
        return v.dtype, tuple(v.shape), v.requires_grad, v.grad is None
    if torch.is_tensor(v):
        raw = v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).clone()
        return v.dtype, tuple(v.shape), raw.tolist(), v.requires_grad, v.grad is None
    if isinstance(v, np.ndarray):
        return v.dtype, v.shape, v.tobytes()
    return repr(v)


def assert_refused(call, error, *argument, unchanged=()):
    """call() raises `error` (TypeError or ValueError, not a subclass of the other) whose message names one
    of `argument` and shows no torch internals; every value in `unchanged` keeps its bits. → the message."""
    before = [bits(v) for v in unchanged]
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, error), f"{type(info.value).__name__}, not {error.__name__}: {message}"
    assert names(message, *argument), f"the message names none of {argument}: {message!r}"
    assert not any(leak in message for leak in LEAKS), f"torch internals in the message: {message!r}"
    assert [bits(v) for v in unchanged] == before, "a refused call changed its inputs"
    return message
