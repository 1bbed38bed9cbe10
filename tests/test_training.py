"""torch_neuron.fit, fit_chunks, epoch_losses and History: what a fit promises, whichever engine runs it.

Comparisons are norm-wise, max|Δ| ≤ rtol·max|expected| (w and b differ in size). 1e-12 is the
scan's budget against the loop: the same arithmetic in another order, with contracting steps
(see test_engines.test_scan_equals_loop_on_random_data).
"""

import numpy as np
import pytest
import torch
from helpers import F64, assert_rel, random_data
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

import torch_neuron as tn
from torch_neuron.functional import mean_loss

ENGINES = ("loop", "autograd", "scan")


def theta(result):
    """FitResult → its history as one tensor (2, ..., epochs)."""
    return torch.stack((result.history.w, result.history.b))


def python_descent(x, y, epochs, lr, batch_size, w=1.0, b=1.0):
    """Gradient descent in plain floats, per epoch: for each batch, θ −= lr·mean over the batch of (x·err, err)."""
    ws, bs = [], []
    for _ in range(epochs):
        for s in range(0, len(x), batch_size):
            xb, yb = x[s : s + batch_size], y[s : s + batch_size]
            err = [xi * w + b - yi for xi, yi in zip(xb, yb)]
            w, b = w - lr * sum(xi * e for xi, e in zip(xb, err)) / len(xb), b - lr * sum(err) / len(xb)
        ws.append(w)
        bs.append(b)
    return torch.tensor([ws, bs], dtype=F64)


@pytest.fixture(scope="module")
def small():
    """13 samples: batch sizes 3, 5 and 7 leave a short last batch."""
    return random_data(0, 13)


# ---- History ----------------------------------------------------------------------------------


def test_history_of_the_book_problem_is_the_plain_python_loop(bmi):
    """Scan, 100 epochs: per-epoch w, b within 1e-12 of the book's loop; loss = mean ½(y − ŷ)² at each (w, b)."""
    x, y = bmi
    result = tn.fit(x, y, epochs=100, lr=1.0, engine="scan", history=True)
    assert_rel(theta(result), python_descent(x.tolist(), y.tolist(), 100, 1.0, 1), 1e-12)
    h = result.history
    assert h.w.shape == h.b.shape == h.loss.shape == (100,)
    assert torch.equal(h.w[-1], result.w) and torch.equal(h.b[-1], result.b)
    assert_rel(h.loss, torch.stack([mean_loss(x, y, w, b) for w, b in zip(h.w, h.b)]), 1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("batch_size", [1, 5])
def test_every_engine_gives_the_loops_history(small, engine, batch_size):
    """Two neurons, 6 epochs: w, b and loss per epoch from each engine match the loop's."""
    x, y = small
    x2, y2 = torch.stack((x, 2 * x)), torch.stack((y, -y))
    kw = dict(epochs=6, lr=0.9, batch_size=batch_size, history=True)
    got, want = tn.fit(x2, y2, engine=engine, **kw).history, tn.fit(x2, y2, engine="loop", **kw).history
    assert got.w.shape == (2, 6)
    for field in ("w", "b", "loss"):
        assert_rel(getattr(got, field), getattr(want, field), 1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shuffle", [False, True])
def test_history_off_and_zero_epochs(engine, shuffle):
    """No history unless asked; zero epochs leave (w, b) where they started, shuffled or not."""
    x, y = random_data(1, 3, 8)
    assert tn.fit(x, y, epochs=5, engine=engine, shuffle=shuffle).history is None
    result = tn.fit(x, y, w=2.0, b=-1.0, epochs=0, history=True, engine=engine, shuffle=shuffle)
    assert result.history.w.shape == result.history.loss.shape == (3, 0)
    assert result.w.tolist() == [2.0] * 3 and result.b.tolist() == [-1.0] * 3


# ---- epoch_losses -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 50),
    k=st.integers(1, 8),
    x_scale=st.sampled_from([1e-3, 0.1, 10.0]),
    y_scale=st.sampled_from([1e-2, 1.0, 100.0]),
)
def test_epoch_losses_is_the_mean_loss_of_each_pair(seed, n, k, x_scale, y_scale):
    """epoch_losses(x, y, ws, bs)[i] = mean ½(y − (x·ws[i] + bs[i]))², for each pair, within 1e-12."""
    x, y = random_data(seed, n, x_scale=x_scale, y_scale=y_scale)
    g = torch.Generator().manual_seed(seed + 1)
    ws, bs = 1000 * torch.randn(2, k, generator=g, dtype=F64)
    want = torch.stack([mean_loss(x, y, w, b) for w, b in zip(ws, bs)])
    assert_rel(tn.epoch_losses(x, y, ws, bs), want, 1e-12)


def test_epoch_losses_is_smallest_at_the_least_squares_fit(bmi):
    """At numpy's lstsq (ŵ, b̂) the loss is the minimum over a grid around it, and still exact (no cancellation)."""
    x, y = bmi
    (w_hat, b_hat), *_ = np.linalg.lstsq(np.stack((x.numpy(), np.ones(len(x))), 1), y.numpy(), rcond=None)
    ws = w_hat + torch.linspace(-1, 1, 21, dtype=F64).view(21, 1)  # a (21, 21) grid by broadcasting
    bs = b_hat + torch.linspace(-1, 1, 21, dtype=F64).view(1, 21)
    grid = tn.epoch_losses(x, y, ws, bs)
    assert grid.shape == (21, 21)
    assert grid.argmin().item() == 10 * 21 + 10
    assert_rel(grid[10, 10], mean_loss(x, y, ws[10, 0], bs[0, 10]), 1e-13)
    assert_rel(grid, mean_loss(x, y, ws.expand(21, 21), bs.expand(21, 21)), 1e-12)


def test_epoch_losses_for_many_neurons_and_constant_x():
    """x, y (L, n) with ws, bs (L, k) → (L, k); a constant x (no variance) is no special case for the caller."""
    x, y = random_data(2, 3, 20)
    x[1] = 0.25
    ws, bs = torch.randn(2, 3, 4, dtype=F64) * 100
    got = tn.epoch_losses(x, y, ws, bs)
    assert got.shape == (3, 4)
    assert_rel(got, torch.stack([mean_loss(x, y, ws[:, j], bs[:, j]) for j in range(4)], -1), 1e-12)


# ---- batch_size and shuffle -------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 7, 12, 13, 18])
def test_batch_size_is_plain_minibatch_descent_in_every_engine(small, batch_size):
    """Each batch: θ −= lr·mean grad, a short last batch included; batch_size ≥ n is full-batch descent."""
    x, y = small
    want = python_descent(x.tolist(), y.tolist(), 5, 0.9, batch_size)
    for engine in ENGINES:
        assert_rel(
            theta(tn.fit(x, y, epochs=5, lr=0.9, batch_size=batch_size, engine=engine, history=True)), want, 1e-12
        )


@pytest.mark.parametrize("batch_size", [1, 4])
def test_shuffle_gives_every_engine_the_same_orders(small, batch_size):
    x, y = small
    kw = dict(epochs=5, lr=0.9, batch_size=batch_size, shuffle=True, seed=11, history=True)
    want = theta(tn.fit(x, y, engine="loop", **kw))
    for engine in ("autograd", "scan"):
        assert_rel(theta(tn.fit(x, y, engine=engine, **kw)), want, 1e-12)


def test_shuffle_is_reproducible_by_seed(small):
    x, y = small
    fit = lambda seed: tn.fit(x, y, epochs=3, shuffle=True, seed=seed)  # noqa: E731
    assert torch.equal(fit(4).w, fit(4).w) and torch.equal(fit(4).b, fit(4).b)
    assert fit(4).w != fit(5).w
    assert fit(4).w != tn.fit(x, y, epochs=3).w  # the order matters for batch_size 1


def test_shuffle_uses_every_sample_once_per_epoch(small):
    """With one full batch per epoch the order cannot matter, so shuffled = unshuffled iff each sample is used once."""
    x, y = small
    kw = dict(epochs=10, lr=0.9, batch_size=13, history=True)
    assert_rel(theta(tn.fit(x, y, shuffle=True, **kw)), theta(tn.fit(x, y, **kw)), 1e-13)


# ---- fit_chunks -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 20), min_size=1, max_size=8),
    batch_size=st.integers(1, 7),
    epochs=st.integers(1, 20),
    lead=st.sampled_from([(), (3,)]),
)
def test_fit_chunks_equals_fit_on_the_whole_data(seed, sizes, batch_size, epochs, lead):
    """Chunks of any sizes (batches spanning two chunks included) = fit(engine='scan') on their concatenation,
    the loss per epoch (from moments merged chunk by chunk) included. (A first chunk of one sample with
    neuron dims reads as PyTorch's (batch, 1) layout and is refused: tests/test_boundary*.py.)"""
    if lead and sizes[0] == 1:
        sizes = [2] + sizes[1:]
    x, y = random_data(seed, *lead, sum(sizes))
    chunks = zip(x.split(sizes, -1), y.split(sizes, -1))
    kw = dict(epochs=epochs, lr=0.9, batch_size=batch_size, history=True)
    got, want = tn.fit_chunks(chunks, dtype=F64, **kw), tn.fit(x, y, engine="scan", **kw)
    assert_rel(torch.stack((got.w, got.b)), torch.stack((want.w, want.b)), 1e-12)
    assert_rel(got.history.loss, want.history.loss, 1e-12)
    assert_rel(torch.stack(got.history[:2]), theta(want), 1e-12)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_fit_chunks_reads_a_dataloader(bmi, batch_size):
    """A DataLoader over TensorDataset(x, y) in batches of 37 (not a multiple of 4) = fit on the whole data."""
    x, y = bmi
    loader = DataLoader(TensorDataset(x, y), batch_size=37)
    got = tn.fit_chunks(loader, epochs=100, lr=1.0, batch_size=batch_size, dtype=F64)
    want = tn.fit(x, y, epochs=100, lr=1.0, batch_size=batch_size, engine="scan")
    assert_rel(torch.stack((got.w, got.b)), torch.stack((want.w, want.b)), 1e-12)


def test_fit_chunks_refuses_an_empty_iterable():
    with pytest.raises(ValueError, match="no samples"):
        tn.fit_chunks([], epochs=3)
    with pytest.raises(ValueError, match="no samples"):
        tn.fit_chunks(iter(()), epochs=3)


# ---- many neurons at once ---------------------------------------------------------------------


def test_one_neuron_per_diabetes_feature(diabetes, python_loop):
    """x = data.T (10, 442): each row's neuron = that feature fitted alone, and = the book's loop on it."""
    x, y = diabetes.data.T, diabetes.target
    together = tn.fit(x, y, epochs=100, lr=1.0)
    assert together.w.shape == (10,)
    alone = torch.stack([torch.stack(tn.fit(x[i], y, epochs=100, lr=1.0)[:2]) for i in range(10)], 1)
    assert_rel(torch.stack(together[:2]), alone, 1e-12)
    loop = torch.tensor([python_loop(x[i].tolist(), y.tolist(), epochs=100) for i in range(10)], dtype=F64)
    assert_rel(torch.stack(together[:2]), loop.T, 1e-12)


def test_a_learning_rate_sweep_equals_separate_fits(bmi):
    x, y = bmi
    lrs = torch.tensor([0.01, 0.1, 0.5, 1.0, 1.5], dtype=F64)
    sweep = tn.fit(x, y, epochs=50, lr=lrs, batch_size=2, history=True)
    assert sweep.history.w.shape == (5, 50)
    for i, lr in enumerate(lrs.tolist()):
        assert_rel(theta(sweep)[:, i], theta(tn.fit(x, y, epochs=50, lr=lr, batch_size=2, history=True)), 1e-12)


def test_bootstrap_resamples_equal_separate_fits(bmi):
    """x[idx], y[idx] with idx (B, n) of draws with replacement: one neuron per resample."""
    x, y = bmi
    idx = torch.randint(0, len(x), (6, len(x)), generator=torch.Generator().manual_seed(0))
    boot = tn.fit(x[idx], y[idx], epochs=30)
    for i in range(6):
        alone = tn.fit(x[idx[i]], y[idx[i]], epochs=30)
        assert_rel(torch.stack((boot.w[i], boot.b[i])), torch.stack((alone.w, alone.b)), 1e-12)


# ---- large data -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_samples_for_100_epochs():
    """1M float64 samples: finite, and within 1e-10 of fit_chunks over 8 chunks and of the loop order in 37 chunks."""
    x, y = random_data(0, 1_000_000, x_scale=0.1, y_scale=50.0)
    result = tn.fit(x, y, epochs=100, lr=1.0)
    got = torch.stack((result.w, result.b))
    assert torch.isfinite(got).all()
    chunks = tn.fit_chunks(zip(x.chunk(8), y.chunk(8)), epochs=100, lr=1.0, dtype=F64)
    assert_rel(torch.stack((chunks.w, chunks.b)), got, 1e-10)
    uneven = tn.fit_chunks(zip(x.split(27_027), y.split(27_027)), epochs=100, lr=1.0, dtype=F64)
    assert_rel(torch.stack((uneven.w, uneven.b)), got, 1e-10)
