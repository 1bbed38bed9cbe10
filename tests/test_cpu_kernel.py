"""The compiled CPU kernel (engines/cpu.py): the same epoch maps as the torch path, for every shape; and when it runs.

Comparisons are per neuron and norm-wise: max|Δ| ≤ rtol·max|expected| over the neuron's 3×3 map (an entry
near 0 has no meaningful relative error). float64: rtol 1e-12, as the scan against the loop (measured
≤ 1e-15 here); float32: 1e-4 against the float64 torch path on the same float32 inputs, as test_conformance.
"""

import importlib.util
import itertools
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
from helpers import F64, random_data
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch.func import vmap

from torch_neuron.book import book_fit
from torch_neuron.engines import scan

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="Numba is not installed")
ROOT = Path(__file__).resolve().parents[1]
RTOL = {torch.float64: 1e-12, torch.float32: 1e-4}


@pytest.fixture(scope="module")
def cpu():
    from torch_neuron.engines import cpu

    return cpu


def torch_path(x, y, lr, batch_size):
    """scan.epoch_map in torch ops, float64: the reference."""
    lr = lr.to(F64) if torch.is_tensor(lr) else lr
    return scan._torch_epoch_map(x.to(F64), y.to(F64), lr, batch_size)


def assert_maps(got, want, rtol, what=""):
    assert got.shape == want.shape, f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    got, want = got.to(F64).flatten(-2), want.flatten(-2)
    bad = ~((got - want).abs().amax(-1) <= rtol * want.abs().amax(-1))  # NaN is bad too
    assert not bad.any(), f"{what}: {int(bad.sum())} of {bad.numel()} maps off by more than {rtol:g}"


@st.composite
def problems(draw):
    """x, y (..., n) and lr (a float or (...)), each carrying some of up to three neuron dims or none."""
    universe = draw(st.lists(st.integers(1, 3), max_size=3))

    def lead():  # trailing dims of the universe, each kept or 1
        k = draw(st.integers(0, len(universe)))
        return tuple(draw(st.sampled_from((1, s))) for s in universe[len(universe) - k :])

    n = draw(st.integers(1, 300))
    return dict(
        seed=draw(st.integers(0, 2**31 - 1)),
        n=n,
        x=lead(),
        y=lead(),
        lr=lead() if draw(st.booleans()) else None,
        batch_size=draw(st.one_of(st.just(1), st.integers(1, n + 3))),
        dtype=draw(st.sampled_from([torch.float64, torch.float32])),
        strided=draw(st.booleans()),
    )


def inputs(p):
    x = random_data(p["seed"], *p["x"], p["n"])[0]
    y = random_data(p["seed"] + 1, *p["y"], p["n"])[1]
    if p["strided"]:  # every other sample of data twice as long: a sample stride of 2
        x = torch.stack((x, -x), -1).flatten(-2)[..., ::2]
    g = torch.Generator().manual_seed(p["seed"] + 2)
    lr = (
        0.05 + 0.95 * torch.rand((), generator=g, dtype=F64).item()
        if p["lr"] is None
        else 0.05 + 0.95 * torch.rand(p["lr"], generator=g, dtype=F64)
    )
    return x.to(p["dtype"]), y.to(p["dtype"]), lr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems())
@example(p=dict(seed=1, n=1, x=(), y=(), lr=None, batch_size=1, dtype=F64, strided=False))  # one sample
@example(p=dict(seed=2, n=5, x=(3,), y=(2, 1), lr=(1, 3), batch_size=7, dtype=F64, strided=False))  # batch > n
@example(p=dict(seed=3, n=1100, x=(), y=(2,), lr=None, batch_size=1, dtype=F64, strided=True))  # chains of 367
@example(p=dict(seed=4, n=2000, x=(), y=(), lr=None, batch_size=3, dtype=F64, strided=False))  # short last batch
@example(p=dict(seed=5, n=20, x=(0,), y=(), lr=None, batch_size=2, dtype=F64, strided=False))  # no neurons
def test_the_kernel_gives_the_torch_paths_maps(cpu, p):
    x, y, lr = inputs(p)
    got = cpu.epoch_map(x, y, lr, p["batch_size"])
    assert got.dtype == p["dtype"]
    assert_maps(got, torch_path(x, y, lr, p["batch_size"]), RTOL[p["dtype"]], str(p))


@pytest.mark.parametrize(
    "neurons, n, batch_size", [(1, 100_000, 1), (40, 3000, 1), (5000, 100, 1), (1, 50_000, 7), (300, 700, 4)]
)
def test_threads_give_the_same_maps(cpu, neurons, n, batch_size):
    """Enough work for the parallel kernel: blocks of one neuron, or many neurons (one lr each) over shared data."""
    x, y = random_data(n, n)
    lr = 1.0 if neurons == 1 else 0.2 + 0.8 * torch.rand(neurons, generator=torch.Generator().manual_seed(n), dtype=F64)
    assert neurons * n >= cpu.PARALLEL
    assert_maps(cpu.epoch_map(x, y, lr, batch_size), torch_path(x, y, lr, batch_size), 1e-12)


@pytest.mark.parametrize("n, batch_size", [(1, 1), (17, 1), (442, 1), (5000, 1), (100_000, 1), (442, 3), (5000, 64)])
def test_a_neurons_map_is_the_same_bits_alone_or_among_others(cpu, n, batch_size):
    """Its chains never depend on the other neurons (nor on threads): one lr of a sweep = that lr alone."""
    x, y = random_data(n, n)
    lr = torch.tensor([0.3, 0.5, 0.9], dtype=F64)
    many = cpu.epoch_map(x, y, lr, batch_size)
    for i in range(3):
        assert torch.equal(many[i], cpu.epoch_map(x, y, lr[i].item(), batch_size))


def test_the_kernels_map_is_the_books_loop(cpu, diabetes, python_loop):
    """bmi → target, lr 1, batch size 1: the map applied epoch after epoch ends where the source text's loop does."""
    x, y = diabetes.data[:, 2], diabetes.target  # a strided column of the data
    M = cpu.epoch_map(x, y, 1.0, 1)
    wb = torch.tensor([1.0, 1.0, 1.0], dtype=F64)
    for epochs in range(1, 101):
        wb = M @ wb
        if epochs in (1, 2, 10, 100):
            want = torch.tensor(book_fit(x.tolist(), y.tolist(), epochs)[-1], dtype=F64)
            assert (wb[:2] - want).abs().max() <= 1e-12 * want.abs().max(), epochs


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 80),
    batch_size=st.integers(1, 90),
    neurons=st.integers(1, 3),
    dtype=st.sampled_from([torch.float64, torch.float32]),
)
def test_the_kernels_map_is_one_epoch_of_the_loop_engine(cpu, seed, n, batch_size, neurons, dtype):
    """(w, b) through the map = sgd_step per batch (the engines' loop), from any start, one lr per neuron."""
    x, y = (t.to(dtype) for t in random_data(seed, neurons, n))
    lr = torch.linspace(0.1, 1.0, neurons, dtype=dtype)
    w, b = torch.full((neurons,), -2.0, dtype=dtype), torch.full((neurons,), 3.0, dtype=dtype)
    wk, bk = scan.apply_map(cpu.epoch_map(x, y, lr, batch_size), w, b)
    from torch_neuron.functional import sgd_step

    x, y, lr, w, b = (t.to(F64) for t in (x, y, lr, w, b))  # the loop in float64 on the same inputs
    for s in range(0, n, batch_size):
        w, b = sgd_step(w, b, x[..., s : s + batch_size], y[..., s : s + batch_size], lr)
    want = torch.stack((w, b))
    assert (torch.stack((wk, bk)).to(F64) - want).abs().max() <= RTOL[dtype] * want.abs().max()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_million_contracting_steps_stay_finite_and_exact(cpu, dtype):
    """The book-like data at lr = 1: the long products go subnormal and then to 0; the map stays the torch path's."""
    g = torch.Generator().manual_seed(0)
    x = 0.05 * torch.randn(1_000_000, generator=g, dtype=F64)
    y = 900 * x + 150 + 50 * torch.randn(1_000_000, generator=g, dtype=F64)
    got = cpu.epoch_map(x.to(dtype), y.to(dtype), 1.0, 1)
    assert torch.isfinite(got).all()
    assert_maps(got, torch_path(x.to(dtype), y.to(dtype), 1.0, 1), RTOL[dtype])


# ---- when the kernel runs ---------------------------------------------------------------------


@pytest.fixture
def calls(cpu, monkeypatch):
    """The kernel's calls, counted."""
    made, kernel = [], cpu.epoch_map

    def counted(*args):
        made.append(args)
        return kernel(*args)

    monkeypatch.setattr(cpu, "epoch_map", counted)
    return made


def test_the_scan_uses_the_kernel_where_it_pays_or_where_told(calls, monkeypatch):
    """auto: where samples × neurons × maps would cost the eager path about as long as loading the kernel."""
    import torch_neuron as tn

    x, y = random_data(0, 3, 50)
    cases = [
        ("numba", 1, True),
        ("eager", 1, False),
        ("eager", 10**9, False),
        ("auto", 1, False),
        ("auto", 10**9, True),
    ]
    for choice, maps, used in cases:
        monkeypatch.setenv("TORCH_NEURON_KERNEL", choice)
        calls.clear()
        M = scan.epoch_map(x, y, 0.5, 2, maps=maps)
        assert bool(calls) == used, (choice, maps)
        assert_maps(M, torch_path(x, y, 0.5, 2), 1e-12)
    monkeypatch.setenv("TORCH_NEURON_KERNEL", "numba")
    calls.clear()
    assert tn.fit(x, y, lr=0.5, batch_size=2, epochs=3).w.shape == (3,) and calls


def test_by_default_a_small_fit_is_the_same_bits_whether_the_kernel_is_loaded_or_not(cpu, monkeypatch):
    """The choice depends on the problem, not on what the process ran before."""
    import torch_neuron as tn

    x, y = random_data(5, 300)
    monkeypatch.delenv("TORCH_NEURON_KERNEL", raising=False)
    auto = tn.fit(x, y, epochs=30)
    monkeypatch.setenv("TORCH_NEURON_KERNEL", "eager")
    eager = tn.fit(x, y, epochs=30)
    assert torch.equal(auto.w, eager.w) and torch.equal(auto.b, eager.b)


def test_the_kernel_stays_out_of_autograd_vmap_and_other_dtypes(calls, monkeypatch):
    monkeypatch.setenv("TORCH_NEURON_KERNEL", "numba")
    x, y = random_data(1, 4, 30)
    want = torch_path(x, y, 1.0, 1)
    assert_maps(vmap(lambda x, y: scan.epoch_map(x, y, 1.0, 1))(x, y), want, 1e-12)  # functorch-wrapped tensors
    xg = x.clone().requires_grad_()
    M = scan.epoch_map(xg, y, 1.0, 1)  # the graph is wanted: torch ops
    assert M.grad_fn is not None
    scan.epoch_map(x.to(torch.bfloat16), y.to(torch.bfloat16), 1.0, 1)
    scan.epoch_map(x.to(torch.float32), y, 1.0, 1)  # mixed dtypes
    assert not calls
    with torch.no_grad():
        assert_maps(scan.epoch_map(xg, y, 1.0, 1), want, 1e-12)
    assert len(calls) == 1


def test_chunks_use_the_kernel(calls, monkeypatch):
    monkeypatch.setenv("TORCH_NEURON_KERNEL", "numba")
    x, y = random_data(2, 2, 100)
    M = scan.chunk_maps([(x[..., :37], y[..., :37]), (x[..., 37:], y[..., 37:])], 0.7, 5)
    assert len(calls) == 2  # 35 samples, then the 2 left over with the next chunk's 63
    assert_maps(M, torch_path(x, y, 0.7, 5), 1e-12)


def run_python(code, **env):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_importing_the_package_or_a_small_fit_does_not_import_numba():
    """Loading Numba and the kernel costs ~0.7 s: a small fit in a fresh process stays eager."""
    run_python(
        """
        import sys, torch, torch_neuron as tn
        assert 'numba' not in sys.modules
        n = tn.Neuron(dtype=torch.float64)
        d = tn.load_diabetes()
        n.fit(d.data[:, 2], d.target)
        assert 'numba' not in sys.modules and 'torch_neuron.engines.cpu' not in sys.modules
    """,
        TORCH_NEURON_KERNEL="auto",
    )


def test_the_kernel_loads_where_one_calls_eager_maps_would_cost_as_much():
    """samples × neurons × maps ≥ COLD_S / EAGER_S: here 1000 × 2 × 40 shuffled epochs, with COLD_S made small."""
    run_python(
        """
        import sys, torch, torch_neuron as tn
        from torch_neuron.engines import kernels
        kernels.COLD_S = 1000 * 2 * 30 * kernels.EAGER_S
        x, y = torch.rand(2, 1000, dtype=torch.float64), torch.rand(1000, dtype=torch.float64)
        tn.fit(x, y, lr=0.5, epochs=40)  # one map
        assert 'torch_neuron.engines.cpu' not in sys.modules
        tn.fit(x, y, lr=0.5, epochs=40, shuffle=True)  # forty
        assert 'torch_neuron.engines.cpu' in sys.modules
    """,
        TORCH_NEURON_KERNEL="auto",
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_the_kernel_serially():
    """Numba's OpenMP threading layer kills a forked child that starts a parallel region once the parent has."""
    run_python("""
        import os, torch
        from torch_neuron.engines import cpu
        x, y = torch.rand(200_000, dtype=torch.float64), torch.rand(200_000, dtype=torch.float64)
        M = cpu.epoch_map(x, y, 0.5, 1)  # in parallel
        pid = os.fork()
        if pid == 0:
            os._exit(0 if torch.equal(cpu.epoch_map(x, y, 0.5, 1), M) else 3)
        assert os.waitpid(pid, 0)[1] == 0
    """)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("epochs", [0, 1, 2, 7, 100])
def test_the_power_and_spectral_radius_kernels_are_the_torch_ops(cpu, epochs, dtype):
    x, y = random_data(epochs, 3, 2, 40)
    lr = torch.tensor([[0.1], [1.0], [2.03]], dtype=F64)  # contracting twice, then growing (radius 1.05–1.5)
    M = cpu.epoch_map(x, y, lr, 4).to(dtype)
    w, b = (torch.full((3, 2), v, dtype=dtype) for v in (1.0, -2.0))
    with torch.no_grad():
        want = scan.apply_map(torch.linalg.matrix_power(M.double(), epochs), w.double(), b.double())
        got = cpu.repeat_last(M, w, b, epochs)
    assert all(t.dtype == dtype and t.shape == (3, 2) for t in got)
    got, want = torch.stack(got, -1).double(), torch.stack(want, -1)  # norm-wise per neuron, over (w, b)
    assert ((got - want).abs().amax(-1) <= RTOL[dtype] * want.abs().amax(-1)).all()
    radius = cpu.spectral_radius(M)
    assert radius.dtype == dtype and radius.shape == (3, 2)
    A = M.double()[..., :2, :2]
    assert torch.allclose(radius.double(), torch.linalg.eigvals(A).abs().amax(-1), rtol=1e-5 if dtype != F64 else 1e-12)


def test_the_scan_takes_the_power_from_the_kernel_with_history_or_without(calls, monkeypatch):
    """With TORCH_NEURON_KERNEL=numba repeat_map and spectral_radius run in the kernel, history or not: asking for
    a history changes nothing."""
    import torch_neuron as tn

    monkeypatch.setenv("TORCH_NEURON_KERNEL", "numba")
    x, y = random_data(4, 2, 300)
    plain, with_history = (tn.fit(x, y, lr=0.8, epochs=50, history=h) for h in (False, True))
    assert len(calls) == 2
    assert torch.equal(plain.w, with_history.w) and torch.equal(plain.b, with_history.b)
    assert torch.equal(with_history.history.w[..., -1], plain.w)
    M = scan.epoch_map(x, y, 0.8, 1)
    monkeypatch.setenv("TORCH_NEURON_KERNEL", "eager")
    eager = tn.fit(x, y, lr=0.8, epochs=50)
    assert torch.allclose(torch.stack((plain.w, plain.b)), torch.stack((eager.w, eager.b)), rtol=1e-12, atol=0)
    assert torch.allclose(scan.spectral_radius(M), torch.linalg.eigvals(M[..., :2, :2]).abs().amax(-1), rtol=1e-12)


def test_threads_follow_torch_and_concurrent_calls_agree(cpu):
    import numba

    x, y = random_data(3, 200_000)
    want = cpu.epoch_map(x, y, 1.0, 1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.equal(cpu.epoch_map(x, y, 1.0, 1), want)
        assert numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    out = [None] * 4

    def work(i):
        out[i] = cpu.epoch_map(x, y, 1.0, 1)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for M in out:  # one parallel launch at a time, the others serial: the same chains, so the same map
        assert torch.equal(M, want)


def test_without_a_writable_cache_the_kernel_compiles_in_each_process(cpu, monkeypatch):
    made = []

    def njit(**options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        made.append(options)
        return lambda f: f

    monkeypatch.setattr(cpu, "njit", njit)
    assert cpu._jit()(len) is len and made and "cache" not in made[0]


def test_neuron_dims_index_shared_rows_in_place(cpu):
    """One x row shared by 1000 neurons, y a (2, 1) column: nothing is copied per neuron; maps as the torch path."""
    x, _ = random_data(7, 600)
    _, y = random_data(8, 2, 1, 600)
    lr = torch.linspace(0.1, 1, 500, dtype=F64).expand(2, 500)
    assert_maps(cpu.epoch_map(x, y, lr, 1), torch_path(x, y, lr, 1), 1e-12)
    for i, j in itertools.product(range(2), (0, 499)):
        assert_maps(cpu.epoch_map(x, y[i, 0], lr[i, j].item(), 1), torch_path(x, y[i, 0], lr[i, j].item(), 1), 1e-12)
