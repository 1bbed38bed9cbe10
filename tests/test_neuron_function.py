"""NeuronFunction: both modes of autodiff written by hand, checked against PyTorch's own and finite differences."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from test_functional import SETTINGS, assert_within_ulps, magnitudes

from torch_neuron import NeuronFunction
from torch_neuron.functional import backprop, forpass, squared_error

apply = NeuronFunction.apply
F64 = torch.float64
DTYPES = [F64, torch.float32]


def inputs(device, n=6, seed=0):
    """x (n,), w, b 0-dim, y (n,): float64 leaves that need gradients (y does not)."""
    g = torch.Generator().manual_seed(seed)
    x, w, b, y = (torch.randn(s, generator=g, dtype=F64) for s in ((n,), (), (), (n,)))
    return (x.to(device).requires_grad_(), w.to(device).requires_grad_(), b.to(device).requires_grad_(), y.to(device))


def loss(w, b, x, y):
    """½(y − ŷ)² summed, with ŷ from NeuronFunction."""
    return squared_error(y, apply(x, w, b)).sum()


def plain_loss(w, b, x, y):
    """The same loss on plain torch ops: PyTorch's own derivatives, the oracle."""
    return squared_error(y, forpass(x, w, b)).sum()


@st.composite
def neuron_points(draw, max_side=4):
    """x of 0–3 dims, 0-dim w and b, and a tangent for each: every value ±10^(−3…3)."""
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_side))
    n = math.prod(shape)
    x, dx = (draw(st.lists(magnitudes(), min_size=n, max_size=n)) for _ in range(2))
    w, b, dw, db = (draw(magnitudes()) for _ in range(4))
    return shape, (x, w, b), (dx, dw, db)


def as_tensors(shape, values, dtype, device):
    x, w, b = values
    return (
        torch.tensor(x, dtype=dtype, device=device).reshape(shape),
        torch.tensor(w, dtype=dtype, device=device),
        torch.tensor(b, dtype=dtype, device=device),
    )


# --- reverse mode: the book's backprop as the backward -----------------------------------------


def test_backward_of_the_loss_is_the_books_backprop_summed(device):
    """The upstream gradient of ½(y − ŷ)² is err = −(y − ŷ); with it the backward is Σ backprop(x, err)."""
    x, w, b, y = inputs(device)
    gw, gb = torch.autograd.grad(loss(w, b, x, y), (w, b))
    with torch.no_grad():
        w_grad, b_grad = backprop(x, -(y - forpass(x, w, b)))
    torch.testing.assert_close((gw, gb), (w_grad.sum(), b_grad.sum()), rtol=1e-15, atol=1e-15)


def test_backward_equals_autograd_of_plain_forpass(device):
    """NeuronFunction's gradients == autograd's own gradients of x·w + b, for any upstream g."""
    x, w, b, _ = inputs(device)
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=F64).to(device)
    ours = torch.autograd.grad(apply(x, w, b), (x, w, b), g)
    theirs = torch.autograd.grad(forpass(x, w, b), (x, w, b), g)
    # the same products, summed by possibly different kernels: a few ulps of Σ|x·g| at most
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=1e-14)


def test_gradient_of_w_alone_when_x_and_b_need_none(device):
    """Only w needs a gradient (the backward skips x's and b's): d/dw Σ(x·w + b) = Σ x."""
    x, w, b, _ = inputs(device)
    x, b = x.detach(), b.detach()
    apply(x, w, b).sum().backward()
    torch.testing.assert_close(w.grad, x.sum(), rtol=1e-15, atol=0)


# --- forward mode: dŷ = x·dw + db + w·dx ---------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(point=neuron_points(), which=st.sets(st.sampled_from("xwb"), min_size=1))
def test_jvp_equals_torch_func_jvp_of_plain_ops(device, dtype, point, which):
    """For x of any shape and any subset of inputs carrying tangents (the others get none, not zeros):
    the primal is forpass's bit for bit, the tangent is PyTorch's within 4 ulps of |x·dw| + |db| + |w·dx|.

    (Both sum the same three rounded products, possibly in another order: ≤ 3 roundings of their size.)
    """
    shape, values, tangents = point
    primals, tangents = as_tensors(shape, values, dtype, device), as_tensors(shape, tangents, dtype, device)
    names = "xwb"

    def with_tangents(f):
        def g(*moving):  # the inputs in `which` move; the rest are closed over, so they carry no tangent
            args = dict(zip(names, primals)) | dict(zip(sorted(which), moving))
            return f(*(args[k] for k in names))

        return g

    moving = [primals[names.index(k)] for k in sorted(which)]
    dirs = [tangents[names.index(k)] for k in sorted(which)]
    y, dy = torch.func.jvp(with_tangents(apply), tuple(moving), tuple(dirs))
    y_plain, dy_plain = torch.func.jvp(with_tangents(forpass), tuple(moving), tuple(dirs))

    assert torch.equal(y, y_plain)
    assert dy.shape == y.shape == shape
    x, w, _ = primals
    dx, dw, db = (t if k in which else torch.zeros_like(t) for k, t in zip(names, tangents))
    scale = (x * dw).abs() + db.abs() + (w * dx).abs()
    assert_within_ulps(dy, dy_plain, scale, ulps=4)


@pytest.mark.parametrize("shape", [(6,), (3, 4), ()], ids=["1-D", "2-D", "0-dim"])
def test_gradcheck_both_modes_batched_too(device, shape):
    """backward and jvp against finite differences (float64), each also under vmap, and with missing
    gradients or tangents (check_undefined_grad)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g, dtype=F64).to(device).requires_grad_()
    w, b = (torch.randn((), generator=g, dtype=F64).to(device).requires_grad_() for _ in range(2))
    assert torch.autograd.gradcheck(
        apply,
        (x, w, b),
        check_backward_ad=True,
        check_batched_grad=True,
        check_forward_ad=True,
        check_batched_forward_grad=True,
    )


def test_gradgradcheck(device):
    """The backward is itself differentiable, in both modes, and its derivatives match finite differences."""
    x, w, b, _ = inputs(device)
    assert torch.autograd.gradgradcheck(apply, (x, w, b), check_fwd_over_rev=True, check_rev_over_rev=True)


def test_jacfwd_equals_jacrev_and_the_plain_ops_jacobian(device):
    """The Jacobian in x, w, b three ways: by the jvp (jacfwd), by the backward (jacrev), by PyTorch (plain ops)."""
    x, w, b, _ = (t.detach() for t in inputs(device))
    fwd = torch.func.jacfwd(apply, argnums=(0, 1, 2))(x, w, b)
    rev = torch.func.jacrev(apply, argnums=(0, 1, 2))(x, w, b)
    plain = torch.func.jacrev(forpass, argnums=(0, 1, 2))(x, w, b)
    torch.testing.assert_close(fwd, rev, rtol=1e-15, atol=0)
    torch.testing.assert_close(fwd, plain, rtol=1e-15, atol=0)
    # ∂ŷ/∂x = w·I, ∂ŷ/∂w = x, ∂ŷ/∂b = 1
    assert torch.equal(fwd[0], w * torch.eye(len(x), dtype=F64, device=device))
    assert torch.equal(fwd[1], x) and torch.equal(fwd[2], torch.ones_like(x))


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(point=neuron_points(max_side=6), y_values=st.data())
def test_hessian_of_the_loss_in_w_and_b_is_the_plain_ops_one_and_the_closed_form(device, dtype, point, y_values):
    """torch.func.hessian (= jacfwd of jacrev: the jvp applied to the backward) of Σ½(y − ŷ)² in (w, b)
    equals PyTorch's on plain ops and the closed form [[Σx², Σx], [Σx, n]], within (n + 4) ulps of the
    sums of the terms' sizes (the bound of any summation order)."""
    shape, (x, w, b), _ = point
    n = math.prod(shape)
    y = y_values.draw(st.lists(magnitudes(), min_size=n, max_size=n))
    x, w, b = as_tensors(shape, (x, w, b), dtype, device)
    y = torch.tensor(y, dtype=dtype, device=device).reshape(shape)

    ours = torch.stack([torch.stack(row) for row in torch.func.hessian(loss, argnums=(0, 1))(w, b, x, y)])
    plain = torch.stack([torch.stack(row) for row in torch.func.hessian(plain_loss, argnums=(0, 1))(w, b, x, y)])
    xs, count = x.double(), torch.tensor(float(n), dtype=F64, device=device)

    def matrix(a, b, c):
        return torch.stack([torch.stack([a, b]), torch.stack([b, c])])

    closed = matrix((xs * xs).sum(), xs.sum(), count)
    scale = matrix((xs * xs).sum(), xs.abs().sum(), count)
    assert_within_ulps(ours, plain, scale, ulps=n + 4)
    assert_within_ulps(ours, closed.to(dtype), scale, ulps=n + 4)


def test_full_hessian_in_x_w_b_equals_the_plain_ops_one(device):
    """All nine blocks of the loss's Hessian in (x, w, b), through the jvp of the backward, vs plain ops."""
    x, w, b, y = (t.detach() for t in inputs(device))
    ours = torch.func.hessian(lambda x, w, b: loss(w, b, x, y), argnums=(0, 1, 2))(x, w, b)
    plain = torch.func.hessian(lambda x, w, b: plain_loss(w, b, x, y), argnums=(0, 1, 2))(x, w, b)
    torch.testing.assert_close(ours, plain, rtol=1e-14, atol=1e-14)


# --- vmap --------------------------------------------------------------------------------------


def test_vmap_of_apply_equals_a_loop_over_rows(device):
    """vmap over x's rows, and over one (w, b) per row, gives what calling apply row by row gives."""
    g = torch.Generator().manual_seed(4)
    X = torch.randn(5, 3, generator=g, dtype=F64).to(device)
    W, B = (torch.randn(5, generator=g, dtype=F64).to(device) for _ in range(2))
    shared = torch.func.vmap(apply, in_dims=(0, None, None))(X, W[0], B[0])
    assert torch.equal(shared, torch.stack([apply(X[i], W[0], B[0]) for i in range(5)]))
    each = torch.func.vmap(apply)(X, W, B)
    assert torch.equal(each, torch.stack([apply(X[i], W[i], B[i]) for i in range(5)]))


def test_vmap_of_grad_through_apply_is_the_books_per_sample_backprop(device):
    """Per-sample gradients by torch.func.vmap(torch.func.grad(loss)) == backprop(x, err), sample by sample."""
    x, w, b, y = inputs(device, n=8)
    x = x.detach()
    per_sample = torch.func.vmap(torch.func.grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, x, y)
    with torch.no_grad():
        w_grad, b_grad = backprop(x, -(y - forpass(x, w, b)))
    assert torch.equal(per_sample[0], w_grad)
    assert torch.equal(per_sample[1], b_grad)


def test_vmap_over_neurons_of_grad_sums_each_neurons_own_samples(device):
    """vmap over (x, y, w, b) rows: each row's grad_w = Σ x·err of that row only, not of the whole batch."""
    g = torch.Generator().manual_seed(5)
    X, Y = (torch.randn(4, 6, generator=g, dtype=F64).to(device) for _ in range(2))
    W, B = (torch.randn(4, generator=g, dtype=F64).to(device) for _ in range(2))
    gw, gb = torch.func.vmap(torch.func.grad(loss, argnums=(0, 1)))(W, B, X, Y)
    for i in range(4):
        w_grad, b_grad = backprop(X[i], -(Y[i] - forpass(X[i], W[i], B[i])))
        torch.testing.assert_close((gw[i], gb[i]), (w_grad.sum(), b_grad.sum()), rtol=1e-14, atol=1e-14)


def test_vmap_of_jvp_equals_a_loop_over_rows(device):
    """The jvp under vmap (its generated batching rule), one (x, w, b) and tangents per row."""
    g = torch.Generator().manual_seed(6)
    X, DX = (torch.randn(4, 5, generator=g, dtype=F64).to(device) for _ in range(2))
    W, B, DW, DB = (torch.randn(4, generator=g, dtype=F64).to(device) for _ in range(4))
    batched = torch.func.vmap(lambda *a: torch.func.jvp(apply, a[:3], a[3:])[1])(X, W, B, DX, DW, DB)
    rows = [torch.func.jvp(apply, (X[i], W[i], B[i]), (DX[i], DW[i], DB[i]))[1] for i in range(4)]
    assert torch.equal(batched, torch.stack(rows))
