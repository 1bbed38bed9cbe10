"""Neuron: the module's API, the book's fit against its reference numbers and outside oracles, and bad input."""

import math
import warnings

import pytest
import torch

from torch_neuron import Neuron, TrainingDiverged
from torch_neuron.functional import squared_error

F64 = torch.float64

# The issue's reference numbers for the book's problem (x = bmi, y = target, w = b = 1, lr = 1, float64).
from reference import B_1, B_100, PREDICT_018, W_1, W_100


@pytest.fixture(scope="module")
def book_lists(bmi):
    """The book's data as Python floats, for the plain-Python reference."""
    return bmi[0].tolist(), bmi[1].tolist()


@pytest.fixture(scope="module")
def reference(python_loop, book_lists):
    """The plain-Python fit after 1 and 100 epochs: {epochs: (w, b)}."""
    return {e: python_loop(*book_lists, epochs=e) for e in (1, 100)}


@pytest.fixture(scope="module")
def loop_fit(bmi):
    """Neuron fitted on the book's data with the loop engine, 100 epochs (the bit-exact reference engine)."""
    neuron = Neuron(dtype=F64)
    neuron.fit(*bmi, engine="loop")
    return neuron


# --- the module ----------------------------------------------------------------------------------


def test_parameters_are_0dim_and_default_to_one():
    neuron = Neuron()
    assert dict(neuron.named_parameters()).keys() == {"w", "b"}
    for p in (neuron.w, neuron.b):
        assert isinstance(p, torch.nn.Parameter) and p.dim() == 0 and p.requires_grad
        assert p.item() == 1.0 and p.dtype == torch.get_default_dtype()


def test_constructor_takes_values_dtype_and_device(device):
    neuron = Neuron(2.5, -3.0, device=device, dtype=F64)
    assert (neuron.w.item(), neuron.b.item()) == (2.5, -3.0)
    assert neuron.w.dtype == neuron.b.dtype == F64
    assert neuron.w.device.type == neuron.b.device.type == device.type


def test_state_dict_round_trip():
    saved = Neuron(2.5, -3.0, dtype=F64).state_dict()
    assert saved.keys() == {"w", "b"}
    loaded = Neuron(dtype=F64)
    loaded.load_state_dict(saved)
    assert (loaded.w.item(), loaded.b.item()) == (2.5, -3.0)


def test_to_and_double_convert_both_parameters(device):
    neuron = Neuron(0.1, 0.2).double()
    assert neuron.w.dtype == neuron.b.dtype == F64
    neuron = Neuron(0.1, 0.2).to(device=device, dtype=F64)
    assert neuron.w.device.type == device.type and neuron.b.dtype == F64
    assert neuron.w.item() == torch.tensor(0.1, dtype=torch.float32).item()  # float32 → float64 is exact


@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3), (2, 0, 4)])
def test_forward_is_forpass_is_x_times_w_plus_b_for_any_shape(shape):
    neuron = Neuron(1.5, -0.5, dtype=F64)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=F64)
    expected = x * 1.5 + (-0.5)
    assert torch.equal(neuron(x), expected)
    assert torch.equal(neuron.forpass(x), expected)


def test_forward_lets_nan_and_inf_through():
    """forward checks nothing: NaN in gives NaN out, ±inf gives ±inf (predict and fit are the checked paths)."""
    y = Neuron(1.5, -0.5, dtype=F64)(torch.tensor([math.nan, math.inf, -math.inf, 1.0], dtype=F64))
    nan, inf, minus_inf, one = y.detach().tolist()
    assert math.isnan(nan) and (inf, minus_inf, one) == (math.inf, -math.inf, 1.0)


def test_forward_runs_on_the_meta_device_so_it_never_reads_a_value():
    """On meta tensors any host sync or value check raises; forward only has shapes to work with."""
    neuron = Neuron(dtype=F64).to("meta")
    y = neuron(torch.empty(2, 5, device="meta", dtype=F64))
    assert y.is_meta and y.shape == (2, 5) and y.requires_grad
    assert "device=meta" in repr(neuron)


def test_fx_symbolic_trace_gives_the_same_function():
    neuron = Neuron(1.5, -0.5, dtype=F64)
    traced = torch.fx.symbolic_trace(neuron)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert torch.equal(traced(x), neuron(x))
    with torch.no_grad():
        neuron.w.fill_(2.0)  # the traced module reads the same parameters, not a copy
    assert torch.equal(traced(x), x * 2.0 - 0.5)


def test_torch_export_with_a_dynamic_length():
    neuron = Neuron(1.5, -0.5, dtype=F64)
    x = torch.randn(7, generator=torch.Generator().manual_seed(2), dtype=F64)
    exported = torch.export.export(neuron, (x,), dynamic_shapes={"x": {0: torch.export.Dim("n")}})
    longer = torch.randn(11, generator=torch.Generator().manual_seed(3), dtype=F64)
    assert torch.equal(exported.module()(longer), neuron(longer))


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_torch_compile_traces_forward_whole_and_gives_the_same_values_and_gradients(backend):
    """fullgraph=True fails on any graph break, such as a value check or a host sync inside forward.

    (A real inductor compile of the same graph takes ~50 s on a 2-core CPU, so it is not run here.)
    """
    neuron = Neuron(1.5, -0.5, dtype=F64)
    compiled = torch.compile(neuron, backend=backend, fullgraph=True)
    x = torch.randn(6, generator=torch.Generator().manual_seed(4), dtype=F64)
    y, y_eager = compiled(x), neuron(x)
    assert torch.equal(y, y_eager)
    grads = torch.autograd.grad(y.square().sum(), (neuron.w, neuron.b))
    assert grads == torch.autograd.grad(y_eager.square().sum(), (neuron.w, neuron.b))


def test_vmap_over_samples_and_over_an_ensemble_of_parameters():
    neuron = Neuron(1.5, -0.5, dtype=F64)
    g = torch.Generator().manual_seed(5)
    X = torch.randn(4, 3, generator=g, dtype=F64)
    assert torch.equal(torch.func.vmap(neuron)(X), neuron(X))
    # four neurons in one call: functional_call swaps in each row of stacked parameters
    W, B = torch.randn(4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    x = X[0]
    ensemble = torch.func.vmap(lambda p: torch.func.functional_call(neuron, p, (x,)))({"w": W, "b": B})
    assert torch.equal(ensemble, torch.stack([Neuron(W[i], B[i], dtype=F64)(x) for i in range(4)]))


def test_torch_func_grad_of_the_module_is_the_books_backprop_summed():
    """The module's autodiff (plain ops) gives Σ backprop(x, err): the book's gradients, by torch.func.grad."""
    neuron = Neuron(1.5, -0.5, dtype=F64)
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(8, generator=g, dtype=F64), torch.randn(8, generator=g, dtype=F64)
    params = {k: v.detach() for k, v in neuron.named_parameters()}
    grads = torch.func.grad(lambda p: squared_error(y, torch.func.functional_call(neuron, p, (x,))).sum())(params)
    with torch.no_grad():
        w_grad, b_grad = neuron.backprop(x, -(y - neuron(x)))
    torch.testing.assert_close((grads["w"], grads["b"]), (w_grad.sum(), b_grad.sum()), rtol=1e-14, atol=0)


@pytest.mark.cuda
def test_forward_makes_no_host_sync_on_cuda():
    neuron = Neuron(1.5, -0.5, dtype=F64, device="cuda")
    x = torch.randn(1000, dtype=F64, device="cuda")
    torch.cuda.set_sync_debug_mode("error")  # any synchronizing call raises
    try:
        y = neuron(x)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.testing.assert_close(y, x * 1.5 - 0.5, rtol=0, atol=0)


# --- predict: the checked path -------------------------------------------------------------------


def test_predict_takes_python_numbers_and_lists():
    neuron = Neuron(2.0, 1.0, dtype=F64)
    assert neuron.predict(3).item() == 7.0
    assert torch.equal(neuron.predict([[0, 1], [2, 3]]), torch.tensor([[1.0, 3.0], [5.0, 7.0]], dtype=F64))


BAD_PREDICTS = {
    "nan": ([1.0, math.nan], ValueError, r"x holds NaN or inf"),
    "inf": (math.inf, ValueError, r"x holds NaN or inf"),
    "strings": (["a", "b"], TypeError, r"x must hold numbers"),
    "complex": (torch.tensor([1j]), TypeError, r"x must hold real numbers"),
    "another device": (torch.zeros(2, device="meta"), ValueError, r"x is on meta but the neuron is on cpu"),
}


@pytest.mark.parametrize("case", BAD_PREDICTS.values(), ids=BAD_PREDICTS.keys())
def test_bad_predict_raises_a_named_error(case):
    x, error, message = case
    with pytest.raises(error, match=message):
        Neuron(dtype=F64).predict(x)


def test_backprop_is_the_books_formulas():
    """w_grad = x·err, b_grad = 1·err, elementwise."""
    neuron = Neuron(dtype=F64)
    x, err = torch.tensor([0.5, -2.0, 3.0], dtype=F64), torch.tensor([4.0, 0.25, -1.0], dtype=F64)
    w_grad, b_grad = neuron.backprop(x, err)
    assert torch.equal(w_grad, torch.tensor([2.0, -0.5, -3.0], dtype=F64))
    assert torch.equal(b_grad, err)


def test_torch_optim_sgd_on_the_module_is_the_books_epoch(bmi, reference):
    """torch.optim.SGD(lr=1) on neuron.parameters(), sample by sample, gives the book's first epoch, bit for bit."""
    neuron = Neuron(dtype=F64)
    opt = torch.optim.SGD(neuron.parameters(), lr=1.0)
    for x_i, y_i in zip(*bmi):
        opt.zero_grad()
        squared_error(y_i, neuron(x_i)).backward()
        opt.step()
    assert (neuron.w.item(), neuron.b.item()) == reference[1]


# --- fit on the book's problem -------------------------------------------------------------------


def test_the_plain_python_reference_gives_the_issues_numbers(reference):
    assert reference[100] == (W_100, B_100)
    assert reference[1] == (W_1, B_1)


def test_loop_engine_equals_plain_python_bit_for_bit(loop_fit, reference):
    assert (loop_fit.w.item(), loop_fit.b.item()) == reference[100]


def test_one_epoch_equals_plain_python_bit_for_bit(bmi, reference):
    for engine in ("loop", "autograd"):
        neuron = Neuron(dtype=F64)
        neuron.fit(*bmi, epochs=1, engine=engine)
        assert (neuron.w.item(), neuron.b.item()) == reference[1], engine


def test_predict_after_the_books_fit(loop_fit, reference):
    """predict(0.18) = 0.18·w + b, without a graph."""
    y_hat = loop_fit.predict(0.18)
    w, b = reference[100]
    assert not y_hat.requires_grad
    assert y_hat.item() == 0.18 * w + b == PREDICT_018


@pytest.mark.slow  # the autograd engine takes ~8 s on the book's 100 epochs
def test_autograd_engine_equals_loop_bit_for_bit(bmi, loop_fit):
    neuron = Neuron(dtype=F64)
    neuron.fit(*bmi, engine="autograd")
    assert torch.equal(neuron.w, loop_fit.w) and torch.equal(neuron.b, loop_fit.b)


def test_default_engine_is_within_1e_12_of_loop(bmi, loop_fit):
    # the scan regroups the same products (a tree instead of a chain): rounding, not a different algorithm
    neuron = Neuron(dtype=F64)
    neuron.fit(*bmi)
    torch.testing.assert_close((neuron.w, neuron.b), (loop_fit.w, loop_fit.b), rtol=1e-12, atol=0)


@pytest.mark.parametrize("epochs", [1, 100])
def test_sklearn_sgd_regressor_gives_the_same_bits(bmi, loop_fit, epochs):
    """scikit-learn's SGDRegressor, plain constant-step SGD from (1, 1), is an outside oracle for the loop."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    from sklearn.exceptions import ConvergenceWarning

    x, y = bmi
    sgd = linear_model.SGDRegressor(
        learning_rate="constant", eta0=1.0, penalty=None, shuffle=False, tol=None, max_iter=epochs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: that is what we asked for
        sgd.fit(x.numpy().reshape(-1, 1), y.numpy(), coef_init=[1.0], intercept_init=[1.0])
    neuron = loop_fit
    if epochs != 100:
        neuron = Neuron(dtype=F64)
        neuron.fit(x, y, epochs=epochs, engine="loop")
    assert (float(sgd.coef_[0]), float(sgd.intercept_[0])) == (neuron.w.item(), neuron.b.item())


@pytest.mark.cuda
@pytest.mark.slow  # ~4 s on an H100: the loop launches a few kernels per sample
def test_fit_on_cuda_matches_cpu(bmi, loop_fit, reference):
    """On CUDA: the loop's first epoch is bit-equal (float64 ×, +, − are correctly rounded on both), and the
    default engine is within 1e-12 relative of the CPU loop after 100 epochs (a tree of FMAs may round differently)."""
    x, y = (t.cuda() for t in bmi)
    neuron = Neuron(dtype=F64, device="cuda")
    neuron.fit(x, y, epochs=1, engine="loop")
    assert (neuron.w.item(), neuron.b.item()) == reference[1]
    neuron = Neuron(dtype=F64, device="cuda")
    neuron.fit(x, y)
    assert neuron.w.is_cuda
    torch.testing.assert_close((neuron.w.cpu(), neuron.b.cpu()), (loop_fit.w, loop_fit.b), rtol=1e-12, atol=0)


# --- bad input: an error that names the problem, and w, b as they were ---------------------------


def nan_at(t, i=3, value=math.nan):
    t = t.clone()
    t[i] = value
    return t


BAD_FITS = {
    # id: (x, y, fit kwargs) from the book's first 20 samples → (error type, what the message must say)
    "lengths differ": (lambda x, y: (x, y[:-1], {}), ValueError, r"different lengths: 20 and 19"),
    "empty": (lambda x, y: ([], [], {}), ValueError, r"empty"),
    "nan in x": (lambda x, y: (nan_at(x), y, {}), ValueError, r"x holds NaN or inf"),
    "inf in x": (lambda x, y: (nan_at(x, value=math.inf), y, {}), ValueError, r"x holds NaN or inf"),
    "nan in y": (lambda x, y: (x, nan_at(y), {}), ValueError, r"y holds NaN or inf"),
    "-inf in y": (lambda x, y: (x, nan_at(y, value=-math.inf), {}), ValueError, r"y holds NaN or inf"),
    "strings in x": (lambda x, y: (["a", "b"], [1.0, 2.0], {}), TypeError, r"x must hold numbers"),
    "a string in y": (lambda x, y: ([1.0, 2.0], [1.0, "2"], {}), TypeError, r"y must hold numbers"),
    "x 2-D": (lambda x, y: (x.reshape(4, 5), y, {}), ValueError, r"must be 1-D"),
    "x on meta": (lambda x, y: (x.to("meta"), y, {}), ValueError, r"x is on meta but the neuron is on cpu"),
    "y on meta": (lambda x, y: (x, y.to("meta"), {}), ValueError, r"y is on meta but the neuron is on cpu"),
    "epochs < 0": (lambda x, y: (x, y, dict(epochs=-1)), ValueError, r"epochs must be >= 0"),
    "epochs 1.5": (lambda x, y: (x, y, dict(epochs=1.5)), TypeError, r"epochs must be a whole number"),
    "batch_size 0": (lambda x, y: (x, y, dict(batch_size=0)), ValueError, r"batch_size must be >= 1"),
    "lr = 0": (lambda x, y: (x, y, dict(lr=0.0)), ValueError, r"lr must be finite and > 0"),
    "lr < 0": (lambda x, y: (x, y, dict(lr=-0.1)), ValueError, r"lr must be finite and > 0"),
    "lr nan": (lambda x, y: (x, y, dict(lr=math.nan)), ValueError, r"lr must be finite and > 0"),
    "lr inf": (lambda x, y: (x, y, dict(lr=math.inf)), ValueError, r"lr must be finite and > 0"),
    "unknown engine": (lambda x, y: (x, y, dict(engine="fast")), ValueError, r"unknown engine 'fast'"),
    **{
        f"lr 1e6 diverges ({e})": (lambda x, y, e=e: (x, y, dict(lr=1e6, engine=e)), TrainingDiverged, r"diverged")
        for e in ("loop", "autograd", "scan")
    },
}


def assert_fit_fails_and_keeps_w_b(neuron, x, y, kwargs, error, message):
    w, b = neuron.w.detach().clone(), neuron.b.detach().clone()
    with pytest.raises(error, match=message):
        neuron.fit(x, y, **kwargs)
    assert torch.equal(neuron.w.detach().cpu(), w.cpu()) and torch.equal(neuron.b.detach().cpu(), b.cpu())


@pytest.mark.parametrize("case", BAD_FITS.values(), ids=BAD_FITS.keys())
def test_bad_fit_raises_a_named_error_and_keeps_w_b(bmi, case):
    make, error, message = case
    x, y, kwargs = make(bmi[0][:20], bmi[1][:20])
    neuron = Neuron(3.5, -2.25, dtype=F64)  # not the defaults, so a reset to (1, 1) would show
    assert_fit_fails_and_keeps_w_b(neuron, x, y, kwargs, error, message)
    assert (neuron.w.item(), neuron.b.item()) == (3.5, -2.25)


def test_training_diverged_is_a_floating_point_error():
    assert issubclass(TrainingDiverged, FloatingPointError)


@pytest.mark.cuda
def test_data_on_another_real_device_is_an_error(bmi):
    x, y = bmi[0][:20], bmi[1][:20]
    on_cpu = Neuron(3.5, -2.25, dtype=F64)
    assert_fit_fails_and_keeps_w_b(on_cpu, x.cuda(), y, {}, ValueError, r"x is on cuda:0 but the neuron is on cpu")
    on_cuda = Neuron(3.5, -2.25, dtype=F64, device="cuda")
    assert_fit_fails_and_keeps_w_b(on_cuda, x, y.cuda(), {}, ValueError, r"x is on cpu but the neuron is on cuda")
    assert (on_cuda.w.item(), on_cuda.b.item()) == (3.5, -2.25)
