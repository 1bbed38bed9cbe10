"""torch_neuron.functional: the neuron's math, and its hand-written backprop against torch.autograd."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torch_neuron.functional import backprop, forpass, mean_loss, sgd_step, squared_error

DTYPES = [torch.float64, torch.float32]
# `device` is a function-scoped fixture holding an immutable torch.device: safe to share across examples.
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def magnitudes():
    """±10^e with e uniform in [-3, 3]: every order of magnitude from 1e-3 to 1e3 is drawn alike."""
    return st.builds(lambda s, e: s * 10.0**e, st.sampled_from([-1.0, 1.0]), st.floats(-3, 3))


def samples(min_size=1, max_size=16):
    """A batch of (x, y) pairs."""
    return st.lists(st.tuples(magnitudes(), magnitudes()), min_size=min_size, max_size=max_size)


def assert_within_ulps(actual, expected, scale, ulps):
    """|actual − expected| ≤ ulps·eps·scale, elementwise.

    Why a scale and not rtol: err = x·w + b − y may cancel to far below its terms, so two correct
    ways of computing it can only be held to a few roundings of the terms' size, |x·w| + |b| + |y|,
    not of the result's. `scale` is that size (times |x| for w_grad); eps is the dtype's, so the same
    ulps is ~1e-16-tight in float64 and ~1e-7 in float32.
    """
    eps = torch.finfo(actual.dtype).eps
    diff = (actual.double() - expected.double()).abs()
    bound = ulps * eps * scale.double()
    assert bool((diff <= bound).all()), f"max excess {(diff - bound).max().item():.3g} (ulps={ulps}, eps={eps:.3g})"


def tensors(values, dtype, device):
    return torch.tensor(values, dtype=dtype, device=device)


def err_scale(x, y, w, b):
    """Size of the terms of err = x·w + b − y (see assert_within_ulps)."""
    return (x * w).abs() + b.abs() + y.abs()


def loss_of(w, b, x, y):
    return squared_error(y, forpass(x, w, b))


# --- the formulas themselves --------------------------------------------------------------------


def test_forpass_is_x_times_w_plus_b_elementwise():
    x = torch.tensor([[0.0, 1.0, -2.0], [0.5, 3.0, 4.0]], dtype=torch.float64)
    assert torch.equal(forpass(x, 3.0, -1.0), torch.tensor([[-1.0, 2.0, -7.0], [0.5, 8.0, 11.0]], dtype=torch.float64))
    # w and b broadcast like any tensors: one (w, b) per row
    w, b = torch.tensor([[2.0], [10.0]], dtype=torch.float64), torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    assert torch.equal(forpass(x, w, b), torch.tensor([[0.0, 2.0, -4.0], [6.0, 31.0, 41.0]], dtype=torch.float64))


def test_backprop_returns_x_times_err_and_err():
    x, err = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 4.0, -8.0])
    w_grad, b_grad = backprop(x, err)
    assert torch.equal(w_grad, torch.tensor([3.0, -8.0, -4.0]))
    assert torch.equal(b_grad, err)


def test_squared_error_is_half_the_square_of_the_residual():
    y, y_hat = torch.tensor([3.0, -1.0, 2.0]), torch.tensor([1.0, 2.0, 2.0])
    assert torch.equal(squared_error(y, y_hat), torch.tensor([2.0, 4.5, 0.0]))


def test_the_math_checks_nothing_and_changes_nothing():
    """forpass, backprop and squared_error are plain tensor math: NaN and inf flow through, inputs stay as they were."""
    nan, inf = math.nan, math.inf
    x, y, err = torch.tensor([nan, 1.0, 2.0]), torch.tensor([0.0, inf, 4.0]), torch.tensor([1.0, inf, 2.0])
    before = [t.clone() for t in (x, y, err)]
    y_hat = forpass(x, 2.0, 1.0)
    w_grad, b_grad = backprop(x, err)
    loss = squared_error(y, y_hat)
    expect = {"y_hat": [nan, 3.0, 5.0], "w_grad": [nan, inf, 4.0], "b_grad": [1.0, inf, 2.0], "loss": [nan, inf, 0.5]}
    exactly = dict(rtol=0, atol=0, equal_nan=True)
    for name, t in dict(y_hat=y_hat, w_grad=w_grad, b_grad=b_grad, loss=loss).items():
        torch.testing.assert_close(t, torch.tensor(expect[name]), **exactly, msg=name)
    for t, old in zip((x, y, err), before):
        torch.testing.assert_close(t, old, **exactly)


def test_mean_loss_is_the_mean_squared_error_over_the_last_dim():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    y = torch.tensor([[2.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    w, b = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    # row 0: ŷ = (1, 2), losses (0.5, 0); row 1: ŷ = (1, 1), losses (0.5, 0.5)
    assert torch.equal(mean_loss(x, y, w, b), torch.tensor([0.25, 0.5], dtype=torch.float64))


def test_sgd_step_on_a_batch_uses_the_mean_gradient():
    x, y = torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    # w = b = 1: ŷ = (2, 3), err = (2, 2), mean(x·err) = 3, mean(err) = 2
    w, b = sgd_step(torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64), x, y, 0.5)
    assert (w.item(), b.item()) == (1.0 - 0.5 * 3.0, 1.0 - 0.5 * 2.0)


def test_sgd_step_steps_many_neurons_at_once_each_on_its_own_row():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 7, generator=g, dtype=torch.float64), torch.randn(5, 7, generator=g, dtype=torch.float64)
    w, b, lr = (torch.randn(5, generator=g, dtype=torch.float64) for _ in range(3))
    w_new, b_new = sgd_step(w, b, x, y, lr.abs())
    for i in range(5):
        wi, bi = sgd_step(w[i], b[i], x[i], y[i], lr[i].abs().item())
        torch.testing.assert_close((w_new[i], b_new[i]), (wi, bi), rtol=1e-15, atol=1e-15)


# --- hand-written backprop == autograd of squared_error ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(x=magnitudes(), y=magnitudes(), w=magnitudes(), b=magnitudes())
def test_backprop_equals_autograd_for_one_sample(device, dtype, x, y, w, b):
    """For one sample: backprop(x, err) == ∂½(y − ŷ)²/∂(w, b) from torch.autograd.grad."""
    x, y = tensors(x, dtype, device), tensors(y, dtype, device)
    w, b = tensors(w, dtype, device).requires_grad_(), tensors(b, dtype, device).requires_grad_()
    grads = torch.autograd.grad(loss_of(w, b, x, y), (w, b))
    with torch.no_grad():
        err = -(y - forpass(x, w, b))
        w_grad, b_grad = backprop(x, err)
        scale = err_scale(x, y, w, b)
    assert_within_ulps(w_grad, grads[0], x.abs() * scale, ulps=4)
    assert_within_ulps(b_grad, grads[1], scale, ulps=4)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(batch=samples(), w=magnitudes(), b=magnitudes())
def test_backprop_equals_per_sample_gradients_from_vmap_of_grad(device, dtype, batch, w, b):
    """On a batch: backprop(x, err)[i] == torch.func.vmap(torch.func.grad(loss))(x, y)[i], for every sample i."""
    x, y = (tensors(v, dtype, device) for v in zip(*batch))
    w, b = tensors(w, dtype, device), tensors(b, dtype, device)
    per_sample = torch.func.vmap(torch.func.grad(loss_of, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, x, y)
    err = -(y - forpass(x, w, b))
    w_grad, b_grad = backprop(x, err)
    scale = err_scale(x, y, w, b)
    assert w_grad.shape == b_grad.shape == per_sample[0].shape == x.shape
    assert_within_ulps(w_grad, per_sample[0], x.abs() * scale, ulps=4)
    assert_within_ulps(b_grad, per_sample[1], scale, ulps=4)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(batch=samples(max_size=64), w=magnitudes(), b=magnitudes())
def test_summed_backprop_equals_autograd_of_the_summed_loss(device, dtype, batch, w, b):
    """Σᵢ backprop(xᵢ, errᵢ) == ∂/∂(w, b) of Σᵢ ½(yᵢ − ŷᵢ)² from torch.autograd.grad."""
    x, y = (tensors(v, dtype, device) for v in zip(*batch))
    w, b = tensors(w, dtype, device).requires_grad_(), tensors(b, dtype, device).requires_grad_()
    grads = torch.autograd.grad(loss_of(w, b, x, y).sum(), (w, b))
    with torch.no_grad():
        err = -(y - forpass(x, w, b))
        w_grad, b_grad = backprop(x, err)
        scale = err_scale(x, y, w, b)
    # A sum of n terms adds up to n − 1 roundings of the sum of their sizes (the textbook bound for any
    # summation order), on top of the few per term: hence n + 4 ulps of Σ|terms|.
    n = len(batch)
    assert_within_ulps(w_grad.sum(), grads[0], (x.abs() * scale).sum(), ulps=n + 4)
    assert_within_ulps(b_grad.sum(), grads[1], scale.sum(), ulps=n + 4)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(batch=samples(), w=magnitudes(), b=magnitudes(), lr=st.floats(1e-3, 1.0))
def test_sgd_step_is_gradient_descent_on_the_mean_loss(device, dtype, batch, w, b, lr):
    """sgd_step(w, b, x, y, lr) == (w, b) − lr·∇ mean ½(y − ŷ)², the gradient from torch.autograd."""
    x, y = (tensors(v, dtype, device) for v in zip(*batch))
    w, b = tensors(w, dtype, device).requires_grad_(), tensors(b, dtype, device).requires_grad_()
    gw, gb = torch.autograd.grad(mean_loss(x, y, w, b), (w, b))
    with torch.no_grad():
        w_new, b_new = sgd_step(w, b, x, y, lr)
        scale = err_scale(x, y, w, b)
        # the gradients as above (n + 4 ulps of the mean of the sizes), times lr; plus the subtraction's rounding
        n = len(batch)
        w_scale = lr * (x.abs() * scale).mean() * (n + 4) + w.abs() + (w - lr * gw).abs()
        b_scale = lr * scale.mean() * (n + 4) + b.abs() + (b - lr * gb).abs()
        assert_within_ulps(w_new, w - lr * gw, w_scale, ulps=1)
        assert_within_ulps(b_new, b - lr * gb, b_scale, ulps=1)


@SETTINGS
@given(x=magnitudes(), y=magnitudes(), w=magnitudes(), b=magnitudes())
def test_sgd_step_on_one_sample_with_lr_1_is_the_books_step_bit_for_bit(device, x, y, w, b):
    """Batch of 1, lr = 1: sgd_step is the book's `err = −(y − ŷ); w −= x·err; b −= 1·err` in Python floats."""
    y_hat = x * w + b
    err = -(y - y_hat)
    w_grad, b_grad = x * err, 1 * err
    book_w, book_b = w - w_grad, b - b_grad

    f64 = dict(dtype=torch.float64, device=device)
    w_new, b_new = sgd_step(
        torch.tensor(w, **f64), torch.tensor(b, **f64), torch.tensor([x], **f64), torch.tensor([y], **f64), 1.0
    )
    assert w_new.shape == b_new.shape == ()
    assert (w_new.item(), b_new.item()) == (book_w, book_b)
