"""NeuronFunction: the neuron with its hand-written backward, as a torch.autograd.Function."""
import torch

from .functional import forpass


class NeuronFunction(torch.autograd.Function):
    """ŷ = x·w + b with the book's backprop as the backward pass.

    For an upstream gradient g (same shape as ŷ): grad_w = Σ x·g, grad_b = Σ g, grad_x = w·g.
    Written in the forward + setup_context style, so torch.func.grad and vmap work on it.
    Call as NeuronFunction.apply(x, w, b) with 0-dim w and b.
    """

    generate_vmap_rule = True  # backward is made of plain torch ops, so vmap can batch it

    @staticmethod
    def forward(x, w, b):
        return forpass(x, w, b)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, w, _ = inputs
        ctx.save_for_backward(x, w)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        # The same formulas as `backprop`, with g in place of err; sums reduce to w's and b's shape.
        grad_x = w * g if ctx.needs_input_grad[0] else None
        grad_w = (x * g).sum() if ctx.needs_input_grad[1] else None
        grad_b = g.sum() if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b
