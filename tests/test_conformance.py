"""The spec of "many neurons": every engine gives each neuron what that neuron, fitted alone, gives.

Hypothesis draws x, y, w, b and lr each shared (a float, no leading dims, or only dims of size 1) or
per neuron (up to 3 leading dims, any of them of size 1), all broadcasting to one neuron shape; and
n, batch size, epochs, shuffle and seed, dtype, history. The oracle is the book's loop in plain
Python floats, run once per neuron on that neuron's row of x and y and its own w, b, lr, in the
per-epoch order every engine uses (engines.Orders). Comparisons are per neuron and norm-wise,
max|Δ| ≤ rtol·max|expected| over the neuron's (w, b) of every epoch, with these rtol:

- loop, float64, batch size 1: 0, bit for bit (the same IEEE operations in the same order);
- loop, float64, larger batches: 1e-13. torch sums a batch in its own vectorised order (which
  depends on the CPU's vector width), plain Python left to right: a few ulps per step;
- scan / auto / autograd / fit_chunks, float64: 1e-12 (maps composed in a tree, batch means summed by
  torch); the loss in the history likewise, from streaming statistics;
- float32, every engine: 1e-4 against the float64 oracle run on the float32-rounded inputs.
Measured over 1500 draws (CPU): larger-batch loop 8e-16, scan 1e-15, loss 1.5e-14, float32 1.1e-5.

No draw can diverge, so every tolerance is relative to a bounded answer: with |x| ≤ 0.2 and
lr ≤ 1, each step's A = I − lr·mean(v vᵀ), v = (x, 1), is symmetric with eigenvalues in [−0.04, 1].
"""

import importlib.util
import itertools
import os

import pytest
import torch
from helpers import F64, random_data
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import torch_neuron as tn
from torch_neuron import engines

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]
RTOL = {"loop": 0.0, "loop-batches": 1e-13, "scan": 1e-12, "auto": 1e-12, "autograd": 1e-12, "chunks": 1e-12}
RTOL_F32 = 1e-4


@pytest.fixture(scope="module", autouse=True, params=["numba", "eager"])
def cpu_kernel(request):
    """Every test here runs twice: with the compiled CPU kernel for the epoch maps (engines/cpu.py), and without."""
    if request.param == "numba" and importlib.util.find_spec("numba") is None:
        pytest.skip("Numba is not installed")
    with pytest.MonkeyPatch.context() as m:  # module-scoped: hypothesis runs every example under it
        m.setenv("TORCH_NEURON_KERNEL", request.param)
        yield request.param


# ---- the draws --------------------------------------------------------------------------------


@st.composite
def problems(draw, kernel=False):
    """One fitting problem as a dict. kernel=True: only what the fused kernel takes (batch size 1, float lr),
    and smaller (Triton's interpreter runs a scan one lane at a time)."""
    universe = draw(st.lists(st.integers(1, 2 if kernel else 3), max_size=3))

    def lead():  # up to len(universe) trailing dims of it, each kept or 1: shared, per neuron, or in between
        k = draw(st.integers(0, len(universe)))
        return tuple(draw(st.sampled_from((1, s))) for s in universe[len(universe) - k :])

    n = draw(st.integers(1, 40))
    x_lead, y_lead = lead(), lead()
    if n == 1:  # data of one sample with neuron dims reads as PyTorch's (batch, 1) layout: refused (test_boundary)
        x_lead, y_lead = (1,) * len(x_lead), (1,) * len(y_lead)
    return dict(
        seed=draw(st.integers(0, 2**31 - 1)),
        n=n,
        x=x_lead,
        y=y_lead,
        # None: a Python float
        w=lead() if draw(st.booleans()) else None,
        b=lead() if draw(st.booleans()) else None,
        lr=lead() if not kernel and draw(st.booleans()) else None,
        batch_size=1 if kernel else draw(st.integers(1, n + 2)),
        epochs=draw(st.integers(1, 3) if kernel else st.integers(0, 5)),
        shuffle=draw(st.booleans()),
        dtype=torch.float64 if kernel else draw(st.sampled_from([torch.float64, torch.float64, torch.float32])),
        history=draw(st.booleans()),
        # where fit_chunks' chunks end; the first chunk holds two samples or more, since it fixes the neuron dims
        cuts=draw(st.lists(st.integers(2, n - 1), max_size=4)) if n > 2 else [],
    )


def make_inputs(p, device):
    """The drawn problem's tensors (float64; lr a tensor of its shape or a float)."""
    g = torch.Generator().manual_seed(p["seed"])

    def values(shape, lo, hi):  # a float when shape is None, else a tensor of that shape
        t = lo + (hi - lo) * torch.rand(() if shape is None else shape, generator=g, dtype=F64)
        return t.item() if shape is None else t.to(device)

    x = random_data(p["seed"], *p["x"], p["n"])[0].to(device)  # |x| ≤ 0.2
    y = random_data(p["seed"] + 1, *p["y"], p["n"])[1].to(device)
    return x, y, values(p["w"], -2.0, 3.0), values(p["b"], -2.0, 3.0), values(p["lr"], 0.05, 1.0)


# ---- the oracle: one neuron at a time, in plain Python ----------------------------------------


def book_fit(xs, ys, w, b, lr, batch_size, orders, epochs):
    """The book's loop with mini-batch means, in Python floats → [(w, b, mean loss) after each epoch]."""
    n, out = len(xs), []
    for e in range(epochs):
        order = orders.apply(e, torch.arange(n), torch.arange(n))[0].tolist()
        for s in range(0, n, batch_size):
            batch = order[s : s + batch_size]
            err = [-(ys[i] - (xs[i] * w + b)) for i in batch]  # the book's err = −(y − ŷ)
            w_grad = sum(xs[i] * e_i for i, e_i in zip(batch, err)) / len(batch)
            b_grad = sum(err) / len(batch)
            w, b = w - lr * w_grad, b - lr * b_grad
        out.append((w, b, sum(0.5 * (y_i - (x_i * w + b)) ** 2 for x_i, y_i in zip(xs, ys)) / n))
    return out


def one_by_one(x, y, w, b, lr, *, batch_size, epochs, shuffle, seed, dtype):
    """book_fit for every neuron of the broadcast shape → w, b, loss (..., epochs) and the initial w, b (...)."""
    as_dtype = lambda v: torch.as_tensor(v, dtype=F64).cpu().to(dtype).to(F64)  # the values the engines see
    x, y, w, b, lr = map(as_dtype, (x, y, w, b, lr))
    neurons = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1], w.shape, b.shape, lr.shape)
    n = x.shape[-1]
    x, y = x.expand(*neurons, n), y.expand(*neurons, n)
    w, b, lr = (t.expand(neurons) for t in (w, b, lr))
    orders = engines.Orders(n, epochs, shuffle, seed)
    fits = torch.zeros(*neurons, epochs, 3, dtype=F64)
    for i in itertools.product(*map(range, neurons)):
        run = book_fit(x[i].tolist(), y[i].tolist(), w[i].item(), b[i].item(), lr[i].item(), batch_size, orders, epochs)
        if run:
            fits[i] = torch.tensor(run, dtype=F64)
    return fits.unbind(-1), (w.clone(), b.clone())


def assert_per_neuron(got, want, rtol, what):
    """got, want (..., k): for every neuron, max|got − want| ≤ rtol·max|want| (rtol 0: bit for bit)."""
    got = got.detach().cpu().to(F64)
    assert got.shape == want.shape, f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    if want.numel() == 0:
        return
    bad = ~((got - want).abs().amax(-1) <= rtol * want.abs().amax(-1))  # NaN is bad too
    if rtol == 0:
        bad |= (got != want).any(-1)
    if bad.any():
        first = tuple(torch.nonzero(bad)[0].tolist())
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.numel()} neurons off by more than rtol={rtol:g}; "
            f"neuron {first}: got {got[first].tolist()}, expected {want[first].tolist()}"
        )


# ---- the check --------------------------------------------------------------------------------


def check(result, want, w0, b0, *, epochs, history, rtol, name):
    """A FitResult against the oracle: shapes, the final (w, b), and the history per epoch."""
    (ws, bs, losses), neurons = want, w0.shape
    assert result.w.shape == result.b.shape == neurons, f"{name}: result shape {tuple(result.w.shape)}"
    last = (ws[..., -1], bs[..., -1]) if epochs else (w0, b0)
    assert_per_neuron(torch.stack((result.w, result.b), -1), torch.stack(last, -1), rtol, f"{name} w, b")
    if not history:
        assert result.history is None, f"{name}: a history nobody asked for"
        return
    h = result.history
    assert h.w.shape == h.b.shape == (*neurons, epochs), f"{name}: history shape {tuple(h.w.shape)}"
    assert_per_neuron(
        torch.stack((h.w, h.b), -1).flatten(-2), torch.stack((ws, bs), -1).flatten(-2), rtol, f"{name} history w, b"
    )
    assert h.loss is not None, f"{name}: no loss in the history"
    assert_per_neuron(h.loss, losses, max(rtol, 1e-12), f"{name} history loss")


def check_conformance(p, device, engine_names):
    """Every named engine, and fit_chunks, on the drawn problem against the one-by-one oracle."""
    x, y, w, b, lr = make_inputs(p, device)
    kw = dict(epochs=p["epochs"], batch_size=p["batch_size"], history=p["history"], dtype=p["dtype"])
    want, (w0, b0) = one_by_one(
        x,
        y,
        w,
        b,
        lr,
        batch_size=p["batch_size"],
        epochs=p["epochs"],
        shuffle=p["shuffle"],
        seed=p["seed"],
        dtype=p["dtype"],
    )
    f32 = p["dtype"] == torch.float32
    for name in engine_names:
        result = tn.fit(x, y, w=w, b=b, lr=lr, shuffle=p["shuffle"], seed=p["seed"], engine=name, **kw)
        assert result.w.dtype == p["dtype"] and result.w.device.type == device
        rtol = RTOL_F32 if f32 else RTOL["loop-batches" if name == "loop" and p["batch_size"] > 1 else name]
        check(result, want, w0, b0, epochs=p["epochs"], history=p["history"], rtol=rtol, name=name)
    # fit_chunks, on the data cut at the drawn points (it never shuffles)
    ends = sorted(set(p["cuts"]) | {p["n"]})
    pieces = [(x[..., i:j], y[..., i:j]) for i, j in zip([0] + ends, ends) if j > i]
    if p["shuffle"]:
        want, _ = one_by_one(
            x,
            y,
            w,
            b,
            lr,
            batch_size=p["batch_size"],
            epochs=p["epochs"],
            shuffle=False,
            seed=p["seed"],
            dtype=p["dtype"],
        )
    result = tn.fit_chunks(pieces, w=w, b=b, lr=lr, **kw)
    check(
        result,
        want,
        w0,
        b0,
        epochs=p["epochs"],
        history=p["history"],
        rtol=RTOL_F32 if f32 else RTOL["chunks"],
        name=f"fit_chunks in {len(pieces)} pieces",
    )


def case(**shapes):
    """A fixed problem: the given leading dims, the rest shared; mini-batches, shuffle and history on."""
    return (
        dict(
            seed=3,
            n=11,
            x=(),
            y=(),
            w=None,
            b=None,
            lr=None,
            batch_size=3,
            epochs=3,
            shuffle=True,
            dtype=torch.float64,
            history=True,
            cuts=[4, 9],
        )
        | shapes
    )


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems())
# always run, besides the draws: shapes that gave wrong numbers or errors before the maps kept neuron dims apart
@example(p=case(y=(3,)))  # one x, three targets: every neuron got the last one's fit
@example(p=case(y=(2,), batch_size=1, shuffle=False))  # a broadcasting error
@example(p=case(y=(2, 3), w=(3,)))
@example(p=case(x=(3,), y=(2, 1, 3)))
@example(p=case(y=(3,), epochs=0))  # no epochs: the starting point, shaped like the neurons
def test_every_engine_fits_each_neuron_as_if_alone(device, p):
    check_conformance(p, device, tn.ENGINE_NAMES)


# ---- the fused kernel's cases (CUDA, or Triton's interpreter on CPU: `make test` runs both) ------

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


@pytest.mark.fused
@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
@pytest.mark.skipif(
    not INTERPRET and not torch.cuda.is_available(),
    reason="the kernel needs CUDA, or TRITON_INTERPRET=1 for Triton's interpreter on CPU",
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems(kernel=True))
def test_the_fused_kernel_fits_each_neuron_as_if_alone(p):
    """Batch size 1 and a float lr: the scan hands every epoch's maps to the kernel, which must be used."""
    from torch_neuron.engines import fused

    calls, kernel = [], fused.epoch_map

    def counted(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused, "epoch_map", counted)
        check_conformance(p, "cpu" if INTERPRET else "cuda", ("auto", "scan"))
    assert calls, "the scan did not use the fused kernel"
