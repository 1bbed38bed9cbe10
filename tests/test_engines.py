"""The engines: the scan's affine maps, the shared shuffle Orders, and scan = loop = autograd.

A step θ ← A·θ + c with θ = (w, b), v = (x, 1): A = I − lr·mean(v vᵀ), c = lr·mean(y·v); as a map,
M = [[A, c], [0, 0, 1]] acting on (w, b, 1). Comparisons are norm-wise, max|Δ| ≤ rtol·max|expected|:
w and b differ in size, and an entry near 0 has no meaningful relative error.
"""

import itertools

import pytest
import torch
from helpers import F64, assert_rel, random_data
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import vmap

from torch_neuron import engines
from torch_neuron.engines import scan
from torch_neuron.functional import sgd_step
from torch_neuron.progress import Silent

EPS = torch.finfo(F64).eps


def run(engine, x, y, w=1.0, b=1.0, *, history=True, **kw):
    """The named engine as fit calls it → per-epoch w, b (..., epochs) (history), else the last w, b."""
    kw = dict(epochs=1, lr=1.0, batch_size=1, shuffle=False, seed=0) | kw
    shape = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1], kw["lr"].shape if torch.is_tensor(kw["lr"]) else ())
    w, b = (torch.full(shape, v, dtype=x.dtype, device=x.device) for v in (w, b))
    orders = engines.Orders(x.shape[-1], kw["epochs"], kw.pop("shuffle"), kw.pop("seed"))
    w, b, trajectory, _ = engines.ENGINES[engines.choose_engine(engine)](
        x, y, w, b, orders=orders, progress=Silent(), history=history, **kw
    )
    return trajectory if history else (w, b)


def step_maps(x, y, lr):
    """The map of each batch: x, y (..., k, m) → (..., k, 3, 3), each batch's one-step epoch map."""
    return torch.stack([scan.epoch_map(x[..., j, :], y[..., j, :], lr, x.shape[-1]) for j in range(x.shape[-2])], -3)


def one_by_one(x, y, lr, batch_size):
    """The epoch's map folded batch by batch: the plain definition epoch_map must equal."""
    n = x.shape[-1]
    maps = [
        step_maps(x[..., s : s + batch_size].unsqueeze(-2), y[..., s : s + batch_size].unsqueeze(-2), lr)[..., 0, :, :]
        for s in range(0, n, batch_size)
    ]
    return scan.fold(maps)


def affine(v):
    """Six numbers → the homogeneous map [[a, b, c], [d, e, f], [0, 0, 1]]."""
    return torch.cat((torch.tensor(v, dtype=F64).view(2, 3), torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)))


floats = st.floats(-10, 10).filter(lambda v: v == 0 or abs(v) > 1e-6)  # products never underflow
float_maps = st.lists(floats, min_size=6, max_size=6).map(affine)


# ---- the maps ---------------------------------------------------------------------------------


def assert_sum_close(actual, expected, magnitude, terms):
    """|actual − expected| ≤ 4·(terms + 2)·u·magnitude elementwise: the rounding bound of a sum whose
    terms' absolute values add up to `magnitude` (a relative bound would fail on cancellation)."""
    assert ((actual - expected).abs() <= 4 * (terms + 2) * EPS * magnitude + 1e-300).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 4), m=st.integers(1, 5), lr=st.floats(1e-3, 2.0))
def test_step_maps_are_the_direct_formulas(seed, k, m, lr):
    """Batch j's map: A = I − lr·mean(v vᵀ), c = lr·mean(y·v), with v = (x, 1)."""
    x, y = random_data(seed, k, m)
    M = step_maps(x, y, lr)
    assert M.shape == (k, 3, 3)
    for j in range(k):
        v = torch.stack((x[j], torch.ones(m, dtype=F64)))  # (2, m)
        eye = torch.eye(2, dtype=F64)
        assert_sum_close(M[j, :2, :2], eye - lr * (v @ v.T) / m, eye + lr * (v.abs() @ v.abs().T) / m, m)
        assert_sum_close(M[j, :2, 2], lr * (v @ y[j]) / m, lr * (v.abs() @ y[j].abs()) / m, m)
        assert torch.equal(M[j, 2], torch.tensor([0.0, 0.0, 1.0], dtype=F64))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 5),
    lr=st.floats(1e-3, 2.0),
    w=st.floats(-1e3, 1e3),
    b=st.floats(-1e3, 1e3),
)
def test_applying_a_step_map_is_sgd_step(seed, m, lr, w, b):
    """apply_map(step map, θ) = sgd_step(θ) for any θ: the map is the step, not an approximation of it."""
    x, y = random_data(seed, 1, m)
    got = scan.apply_map(step_maps(x, y, lr)[0], torch.tensor(w, dtype=F64), torch.tensor(b, dtype=F64))
    want = sgd_step(torch.tensor(w, dtype=F64), torch.tensor(b, dtype=F64), x[0], y[0], lr)
    r = x[0].abs() * abs(w) + abs(b) + y[0].abs()  # |terms| of err = x·w + b − y
    magnitude = torch.stack((abs(w) + lr * (x[0].abs() * r).mean(), abs(b) + lr * r.mean()))
    assert_sum_close(torch.stack(got), torch.stack(want), magnitude, m + 3)


@pytest.mark.parametrize(
    "x_lead, y_lead, lr_lead",
    [((3,), (3,), (3,)), ((), (3,), ()), ((), (), (3,)), ((1, 3), (2, 1), ()), ((2, 1), (), (3,))],
)
def test_step_maps_follow_whichever_input_carries_the_neuron_dims(x_lead, y_lead, lr_lead):
    """x, y and lr may each be shared or per neuron: neuron i's maps are those of its own x, y, lr."""
    x, _ = random_data(1, *x_lead, 4, 2)
    _, y = random_data(2, *y_lead, 4, 2)
    lr = 0.1 + torch.rand(lr_lead, generator=torch.Generator().manual_seed(3), dtype=F64)
    M = step_maps(x, y, lr)
    shape = torch.broadcast_shapes(x_lead, y_lead, lr_lead)
    assert M.shape == (*shape, 4, 3, 3)
    x, y, lr = x.expand(*shape, 4, 2), y.expand(*shape, 4, 2), lr.expand(shape)
    for i in itertools.product(*map(range, shape)):
        assert torch.equal(M[i], step_maps(x[i], y[i], lr[i].item()))


@given(p1=float_maps, p2=float_maps, w=floats, b=floats)
@settings(max_examples=30, deadline=None)
def test_applying_a_composition_applies_first_then_second(p1, p2, w, b):
    """apply(P₂ @ P₁, θ) = apply(P₂, apply(P₁, θ)): the product of two maps runs the first, then the second."""
    once = torch.stack(scan.apply_map(p2 @ p1, w, b))
    twice = torch.stack(scan.apply_map(p2, *scan.apply_map(p1, w, b)))
    bound = 8 * EPS * (p2.abs() @ p1.abs() @ torch.tensor([abs(w), abs(b), 1.0]).double())
    assert ((once - twice).abs() <= bound[:2] + 1e-300).all()


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 33])
def test_reduce_maps_equals_folding_one_by_one(k):
    """The tree reduction (padded to a power of two) = composing the k maps in order, first applied first."""
    x, y = random_data(k, 2, k, 1)
    M = step_maps(x, y, 1.0)  # (2, k, 3, 3): two neurons
    assert_rel(scan.reduce_maps(M), scan.fold([M[:, j] for j in range(k)]), 1e-13)


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("n", [1, 2, 4, 5, 12, 13, 16, 17, 33, 50])
def test_epoch_map_equals_folding_one_by_one(n, batch_size):
    """Full batches through the tree (odd levels included), plus a short last batch."""
    x, y = random_data(n, 2, n)
    assert_rel(scan.epoch_map(x, y, 0.9, batch_size), one_by_one(x, y, 0.9, batch_size), 1e-13)


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("lr_lead, n", [((1100,), 40), ((1100,), 101), ((2, 550), 97)])
def test_epoch_map_over_many_neurons_and_batches_equals_folding_one_by_one(lr_lead, n, batch_size):
    """Many neurons (one lr each) over shared data, many batches (the CPU runs updates in sequential blocks
    here), leftover batches and a short last batch: still the batches folded one by one."""
    x, y = random_data(n, n)
    lr = 0.1 + torch.rand(lr_lead, generator=torch.Generator().manual_seed(n), dtype=F64)
    assert_rel(scan.epoch_map(x, y, lr, batch_size), one_by_one(x, y, lr, batch_size), 1e-13)


@pytest.mark.parametrize("n, batch_size", [(3000, 1), (2501, 2)])
def test_epoch_map_over_thousands_of_samples_is_one_epoch_of_the_loop(n, batch_size):
    """Thousands of batches (odd tree levels, a short batch) = the loop's epoch."""
    x, y = random_data(n, n)
    w, b = scan.apply_map(scan.epoch_map(x, y, 1.0, batch_size), 1.0, 1.0)
    wl, bl = run("loop", x, y, batch_size=batch_size, history=False)
    assert_rel(torch.stack((w, b)), torch.stack((wl, bl)), 1e-12)


@pytest.mark.parametrize("n, batch_size", [(40_000, 1), (601, 1), (1901, 3)])
def test_scan_with_many_batches_or_neurons_is_the_loop(n, batch_size):
    """Where the CPU runs updates in sequential blocks (40,000 batches of one neuron; 600 batches of 64
    neurons, one lr each; leftovers and a short batch): scan = loop, 3 epochs, history included."""
    neurons = 1 if n > 10_000 else 64
    x, y = random_data(n, n)
    lr = 1.0 if neurons == 1 else 0.2 + 0.8 * torch.rand(neurons, generator=torch.Generator().manual_seed(n), dtype=F64)
    kw = dict(epochs=3, lr=lr, batch_size=batch_size)
    assert_rel(torch.stack(run("scan", x, y, **kw)), torch.stack(run("loop", x, y, **kw)), 1e-12)


@pytest.mark.parametrize("epochs", [1, 2, 3, 5, 8, 9])
def test_prefix_maps_is_the_inclusive_scan(epochs):
    """out[e] = P[e]∘…∘P[0] for every e."""
    x, y = random_data(epochs, epochs, 1)
    M = step_maps(x, y, 1.0)  # (epochs, 3, 3)
    out = scan.prefix_maps(M)
    for e in range(epochs):
        assert_rel(out[e], scan.fold([M[j] for j in range(e + 1)]), 1e-13)


@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("epochs", [1, 2, 3, 6, 7, 100])
def test_repeat_map_is_repeated_application(epochs, history):
    """(w, b) after each of E applications of the epoch map, for two neurons at once."""
    x, y = random_data(epochs, 2, 5)
    M = scan.epoch_map(x, y, 1.0, 1)  # (2, 3, 3)
    w, b = torch.tensor([1.0, -3.0], dtype=F64), torch.tensor([2.0, 0.5], dtype=F64)
    want = []
    for _ in range(epochs):
        w, b = scan.apply_map(M, w, b)
        want.append(torch.stack((w, b)))
    wE, bE, trajectory = scan.repeat_map(
        M, torch.tensor([1.0, -3.0], dtype=F64), torch.tensor([2.0, 0.5], dtype=F64), epochs=epochs, history=history
    )
    assert_rel(torch.stack((wE, bE)), want[-1], 1e-12)
    if history:
        assert_rel(torch.stack(trajectory), torch.stack(want, -1), 1e-12)
    else:
        assert trajectory is None


# ---- the order of the samples -----------------------------------------------------------------


def test_orders_without_shuffle_keep_the_given_order():
    x, y = random_data(0, 7)
    xe, ye = engines.Orders(7, 3, False, 0).apply(2, x, y)
    assert torch.equal(xe, x) and torch.equal(ye, y)


def test_orders_shuffle_each_epoch_is_a_permutation_moving_x_and_y_together():
    n, idx = 50, torch.arange(50.0)
    orders = engines.Orders(n, 4, True, seed=7)
    perms = [orders.apply(e, idx, -idx) for e in range(4)]
    for xe, ye in perms:
        assert torch.equal(xe.sort().values, idx)  # every sample once
        assert torch.equal(ye, -xe)  # pairs stay pairs
    assert len({tuple(xe.tolist()) for xe, _ in perms}) == 4  # a new order each epoch


def test_orders_are_reproducible_by_seed_and_independent_of_query_order():
    idx = torch.arange(50.0)
    a, b, c = (engines.Orders(50, 3, True, s) for s in (7, 7, 8))
    late_first = [b.apply(e, idx, idx)[0] for e in (2, 1, 0)][::-1]
    for e in range(3):
        assert torch.equal(a.apply(e, idx, idx)[0], late_first[e])
        assert not torch.equal(a.apply(e, idx, idx)[0], c.apply(e, idx, idx)[0])


def test_orders_perm_is_the_order_apply_uses():
    orders, idx = engines.Orders(9, 2, True, seed=4), torch.arange(9.0)
    assert torch.equal(orders.apply(1, idx, idx)[0], idx[orders.perm(1)])
    assert engines.Orders(9, 2, False, seed=4).perm(1) is None


# ---- engine against engine --------------------------------------------------------------------


def test_choose_engine():
    assert engines.choose_engine("auto") == "scan"
    assert [engines.choose_engine(e) for e in ("loop", "autograd", "scan")] == ["loop", "autograd", "scan"]
    with pytest.raises(ValueError, match="unknown engine 'adam'"):
        engines.choose_engine("adam")


@pytest.mark.parametrize("engine", ["loop", "autograd", "scan"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_engine_returns_the_same_shapes_and_keeps_history_only_when_asked(engine, shuffle):
    """(w, b) of the neuron shape; with history the per-epoch (ws, bs) end at (w, b); without, None."""
    x, y = random_data(4, 3, 7)
    w, b, trajectory, _ = engines.ENGINES[engine](
        x,
        y,
        torch.ones(3, dtype=F64),
        torch.ones(3, dtype=F64),
        epochs=4,
        lr=0.5,
        batch_size=2,
        orders=engines.Orders(7, 4, shuffle, 0),
        progress=Silent(),
        history=False,
    )
    assert w.shape == b.shape == (3,) and trajectory is None
    ws, bs = run(engine, x, y, epochs=4, lr=0.5, batch_size=2, shuffle=shuffle)
    assert ws.shape == bs.shape == (3, 4)
    assert_rel(torch.stack((ws[:, -1], bs[:, -1])), torch.stack((w, b)), 1e-12)


@pytest.fixture(scope="module")
def loop_all_features(diabetes):
    """The loop engine on all 10 features at once (x = data.T), 100 epochs, history: the slow reference."""
    x = diabetes.data.T.contiguous()
    return x, diabetes.target, run("loop", x, diabetes.target, epochs=100)


def test_loop_engine_reproduces_the_plain_python_loop(loop_all_features, python_loop):
    """Row 2 (bmi) is the book's problem: the loop engine gives the plain-Python floats bit for bit."""
    x, y, (ws, bs) = loop_all_features
    assert (ws[2, -1].item(), bs[2, -1].item()) == python_loop(x[2].tolist(), y.tolist(), epochs=100)


def test_scan_equals_loop_on_the_diabetes_data(loop_all_features):
    """Every epoch, every feature: scan within 1e-12 of the loop (measured ~2e-15)."""
    x, y, (ws, bs) = loop_all_features
    wsc, bsc = run("scan", x, y, epochs=100)  # one y shared by all ten neurons
    assert_rel(wsc, ws, 1e-12)
    assert_rel(bsc, bs, 1e-12)


def test_scan_in_float32_stays_within_1e_5_of_the_float64_loop(loop_all_features):
    """float32 scan on the book's problem vs the float64 loop, all 100 epochs (measured 3e-7 ≈ 3u₃₂)."""
    x, y, (ws, bs) = loop_all_features
    w32, b32 = run("scan", x[2].float(), y.float(), epochs=100)
    assert w32.dtype == torch.float32
    assert_rel(torch.stack((w32, b32)).double(), torch.stack((ws[2], bs[2])), 1e-5)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    epochs=st.integers(1, 30),
    x_scale=st.sampled_from([1e-3, 0.1, 1.0, 30.0]),
    y_scale=st.sampled_from([1e-2, 1.0, 1e3]),
    stability=st.floats(0.01, 1.9),
    batch=st.integers(1, 64),
    shuffle=st.booleans(),
)
def test_scan_equals_loop_on_random_data(seed, n, epochs, x_scale, y_scale, stability, batch, shuffle):
    """float64, per epoch: max|Δθ| ≤ 1e-12·max|θ_loop| (measured ≤ 2e-14 over thousands of cases).

    Why 1e-12 holds: lr·(x² + 1) ≤ 1.9 makes every A symmetric with eigenvalues in [−0.9, 1], so
    ‖A‖ ≤ 1 and rounding is never amplified; errors at most add up, ≤ n·epochs·u ≈ 2e-13.
    """
    x, y = random_data(seed, n, x_scale=x_scale, y_scale=y_scale)
    lr = stability / (x * x + 1).max().item()
    kw = dict(epochs=epochs, lr=lr, batch_size=batch, shuffle=shuffle, seed=seed)
    wl, bl = run("loop", x, y, 0.5, -2.0, **kw)
    ws, bs = run("scan", x, y, 0.5, -2.0, **kw)
    assert_rel(torch.stack((ws, bs)), torch.stack((wl, bl)), 1e-12)


@pytest.mark.parametrize("batch_size", [1, 4, 11])
def test_autograd_engine_equals_loop_for_many_neurons(batch_size):
    """Three neurons at once, backward() of the summed losses keeps their gradients apart."""
    x, y = random_data(3, 3, 11)
    kw = dict(epochs=3, lr=0.8, batch_size=batch_size, shuffle=True, seed=1)
    assert_rel(torch.stack(run("autograd", x, y, **kw)), torch.stack(run("loop", x, y, **kw)), 1e-12)


def test_autograd_engine_takes_one_lr_per_neuron():
    """lr (2,) over shared data: each neuron steps with its own lr, as in the loop."""
    x, y = random_data(0, 5)
    lr = torch.tensor([0.1, 0.7], dtype=F64)
    kw = dict(epochs=3, lr=lr, batch_size=2)
    assert_rel(torch.stack(run("autograd", x, y, **kw)), torch.stack(run("loop", x, y, **kw)), 1e-12)


# ---- vmap over the scan -----------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3])
def test_vmap_of_epoch_map_equals_the_batched_call(device, batch_size):
    """vmap over neurons = leading dims: the scan's functions are vmap-able (fit itself syncs to validate)."""
    x, y = (t.to(device) for t in random_data(5, 6, 50))
    batched = scan.epoch_map(x, y, 1.0, batch_size)  # (6, 3, 3)
    assert_rel(vmap(lambda x, y: scan.epoch_map(x, y, 1.0, batch_size))(x, y), batched, 1e-13)


def test_vmap_of_a_whole_fit_equals_the_scan_engine():
    """θ after E epochs = apply(power(epoch map, E), θ₀), vmapped over neurons and learning rates."""
    x, y = random_data(6, 4, 30)
    lr = torch.tensor([0.2, 0.5, 1.0, 1.5], dtype=F64)

    def fit(x, y, lr):
        return scan.apply_map(torch.linalg.matrix_power(scan.epoch_map(x, y, lr, 2), 20), 1.0, 1.0)

    w, b = vmap(fit)(x, y, lr)
    wl, bl = run("loop", x, y, epochs=20, lr=lr, batch_size=2, history=False)
    assert_rel(torch.stack((w, b)), torch.stack((wl, bl)), 1e-12)


# ---- devices ----------------------------------------------------------------------------------


def test_scan_on_device_equals_scan_on_cpu(device, diabetes):
    """float64, 100 epochs, 10 features at once and bmi alone (1-D); on CUDA within 1e-12 (rounding order only)."""
    x, y = diabetes.data.T.contiguous(), diabetes.target
    ws, bs = run("scan", x.to(device), y.to(device), epochs=100)
    wc, bc = run("scan", x, y, epochs=100)
    assert ws.device.type == device.type
    assert_rel(torch.stack((ws, bs)).cpu(), torch.stack((wc, bc)), 1e-12)
    w1, b1 = run("scan", x[2].to(device), y.to(device), epochs=100)  # 1-D: the path a fused kernel may take
    assert_rel(torch.stack((w1, b1)).cpu(), torch.stack((wc[2], bc[2])), 1e-12)


def test_loop_on_device_equals_loop_on_cpu(device):
    x, y = random_data(2, 2, 23)
    kw = dict(epochs=4, lr=1.0, batch_size=5, shuffle=True, seed=3)
    got = torch.stack(run("loop", x.to(device), y.to(device), **kw)).cpu()
    assert_rel(got, torch.stack(run("loop", x, y, **kw)), 1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize(
    "history, batch_size, shuffle",
    [(True, 1, False), (False, 1, False), (True, 7, False), (False, 2000, False), (True, 1, True)],
)
def test_scan_on_cuda_never_syncs_with_the_host(diabetes, history, batch_size, shuffle):
    """The engine call itself, under sync debug mode 'error': any wait of the host for the device raises."""
    x = diabetes.data.T.contiguous().cuda().repeat(1, 10)  # 4420 samples: the tiled path
    y, lr = diabetes.target.cuda().repeat(10), torch.full((10,), 0.5, dtype=F64, device="cuda")
    for x_, lr_ in ((x, 1.0), (x, lr), (x[2], 1.0)):
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            ws, bs = run("scan", x_, y, epochs=20, lr=lr_, batch_size=batch_size, history=history, shuffle=shuffle)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert ws.shape[-1] == 20 if history else ws.shape == y.shape[:-1] or ws.dim() <= 1
