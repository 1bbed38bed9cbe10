"""NeuronFunction: the hand-written backward as an autograd.Function, checked by gradcheck, vmap and autograd."""
import torch

from torch_neuron import NeuronFunction
from torch_neuron.functional import backprop, forpass, squared_error

apply = NeuronFunction.apply


def inputs(device, n=6, seed=0):
    """x (n,), w, b 0-dim, y (n,): float64 leaves that need gradients (y does not)."""
    g = torch.Generator().manual_seed(seed)
    x, w, b, y = (torch.randn(s, generator=g, dtype=torch.float64) for s in ((n,), (), (), (n,)))
    return (x.to(device).requires_grad_(), w.to(device).requires_grad_(), b.to(device).requires_grad_(),
            y.to(device))


def loss(w, b, x, y):
    """½(y − ŷ)² summed, with ŷ from NeuronFunction."""
    return squared_error(y, apply(x, w, b)).sum()


def test_forward_is_forpass(device):
    x, w, b, _ = inputs(device)
    assert torch.equal(apply(x, w, b), forpass(x, w, b))


def test_gradcheck(device):
    """The analytic backward matches finite differences in x, w and b (float64)."""
    x, w, b, _ = inputs(device)
    assert torch.autograd.gradcheck(apply, (x, w, b))


def test_gradgradcheck(device):
    """The backward is itself differentiable, and its derivatives match finite differences."""
    x, w, b, _ = inputs(device)
    assert torch.autograd.gradgradcheck(apply, (x, w, b))


def test_gradcheck_on_a_2d_x(device):
    """grad_w = Σ x·g and grad_b = Σ g sum over every dim, whatever x's shape."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64).to(device).requires_grad_()
    w, b = (torch.randn((), generator=g, dtype=torch.float64).to(device).requires_grad_() for _ in range(2))
    assert torch.autograd.gradcheck(apply, (x, w, b))


def test_backward_is_the_books_formulas(device):
    """For an upstream g: grad_x = w·g, grad_w = Σ x·g, grad_b = Σ g — with g = err these are backprop's."""
    x, w, b, y = inputs(device)
    out = apply(x, w, b)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64).to(device)
    grad_x, grad_w, grad_b = torch.autograd.grad(out, (x, w, b), g)
    with torch.no_grad():
        assert torch.equal(grad_x, w * g)
        assert torch.equal(grad_w, (x * g).sum())
        assert torch.equal(grad_b, g.sum())
        # the loss's upstream gradient is err = −(y − ŷ): then it is backprop, summed over samples
        err = -(y - forpass(x, w, b))
        w_grad, b_grad = backprop(x, err)
    gw, gb = torch.autograd.grad(loss(w, b, x, y), (w, b))
    torch.testing.assert_close((gw, gb), (w_grad.sum(), b_grad.sum()), rtol=1e-15, atol=1e-15)


def test_backward_equals_autograd_of_plain_forpass(device):
    """NeuronFunction's gradients == autograd's own gradients of x·w + b, for any upstream g."""
    x, w, b, _ = inputs(device)
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64).to(device)
    ours = torch.autograd.grad(apply(x, w, b), (x, w, b), g)
    theirs = torch.autograd.grad(forpass(x, w, b), (x, w, b), g)
    # the same products, summed by possibly different kernels: a few ulps of Σ|x·g| at most
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=1e-14)


def test_vmap_of_apply_equals_a_loop_over_rows(device):
    """vmap over x's rows, and over one (w, b) per row, gives what calling apply row by row gives."""
    g = torch.Generator().manual_seed(4)
    X = torch.randn(5, 3, generator=g, dtype=torch.float64).to(device)
    W, B = (torch.randn(5, generator=g, dtype=torch.float64).to(device) for _ in range(2))
    shared = torch.func.vmap(apply, in_dims=(0, None, None))(X, W[0], B[0])
    assert torch.equal(shared, torch.stack([apply(X[i], W[0], B[0]) for i in range(5)]))
    each = torch.func.vmap(apply)(X, W, B)
    assert torch.equal(each, torch.stack([apply(X[i], W[i], B[i]) for i in range(5)]))


def test_vmap_of_grad_through_apply_equals_per_sample_autograd(device):
    """Per-sample gradients by torch.func.vmap(torch.func.grad(loss)) == autograd.grad one sample at a time."""
    x, w, b, y = inputs(device, n=8)
    x = x.detach()
    per_sample = torch.func.vmap(torch.func.grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, x, y)
    loop = [torch.autograd.grad(loss(w, b, x[i], y[i]), (w, b)) for i in range(len(x))]
    assert torch.equal(per_sample[0], torch.stack([gw for gw, _ in loop]))
    assert torch.equal(per_sample[1], torch.stack([gb for _, gb in loop]))
    # and they are the book's per-sample gradients
    with torch.no_grad():
        w_grad, b_grad = backprop(x, -(y - forpass(x, w, b)))
    assert torch.equal(per_sample[0], w_grad)
    assert torch.equal(per_sample[1], b_grad)


def test_vmap_over_neurons_of_grad_sums_each_neurons_own_samples(device):
    """vmap over (x, y, w, b) rows: each row's grad_w = Σ x·err of that row only, not of the whole batch."""
    g = torch.Generator().manual_seed(5)
    X, Y = (torch.randn(4, 6, generator=g, dtype=torch.float64).to(device) for _ in range(2))
    W, B = (torch.randn(4, generator=g, dtype=torch.float64).to(device) for _ in range(2))
    gw, gb = torch.func.vmap(torch.func.grad(loss, argnums=(0, 1)))(W, B, X, Y)
    for i in range(4):
        w_grad, b_grad = backprop(X[i], -(Y[i] - forpass(X[i], W[i], B[i])))
        torch.testing.assert_close((gw[i], gb[i]), (w_grad.sum(), b_grad.sum()), rtol=1e-14, atol=1e-14)


def test_gradient_of_w_alone_when_x_and_b_need_none(device):
    """Only w needs a gradient (the backward skips x's and b's): with g = 1 it is Σ x."""
    x, w, b, _ = inputs(device)
    x, b = x.detach(), b.detach()
    apply(x, w, b).sum().backward()
    assert torch.equal(w.grad, x.sum())
