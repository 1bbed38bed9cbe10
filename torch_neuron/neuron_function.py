"""NeuronFunction: the neuron with both modes of autodiff written by hand, as a torch.autograd.Function."""

from functools import reduce
from typing import Any

import torch

from .functional import forpass


class NeuronFunction(torch.autograd.Function):
    """ŷ = x·w + b with hand-written reverse mode (the book's backprop) and forward mode.

    backward, for an upstream gradient g (ŷ's shape): grad_x = w·g, grad_w = Σ x·g, grad_b = Σ g.
    jvp, for tangents dx, dw, db: dŷ = x·dw + db + w·dx, the tangent of the same formula.
    Written in the forward + setup_context style, so torch.func (grad, jvp, jacrev, jacfwd,
    hessian, vmap) works on it. Call as NeuronFunction.apply(x, w, b) with 0-dim w and b.

    torch.compile does not trace a Function that has a jvp (Dynamo: "Unsupported custom jvp"); it
    runs it eagerly, and fullgraph=True refuses it. Neuron.forward uses plain ops for that reason.
    """

    generate_vmap_rule = True  # backward and jvp are made of plain torch ops, so vmap can batch them

    @staticmethod
    def forward(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return forpass(x, w, b)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], output: torch.Tensor) -> None:
        x, w, _ = inputs
        ctx.save_for_backward(x, w)
        ctx.save_for_forward(x, w)
        ctx.shape = output.shape
        # a missing tangent or gradient arrives as None, not as a tensor of zeros to multiply
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(
        ctx: Any, g: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        if g is None:
            return None, None, None
        x, w = ctx.saved_tensors
        # The same formulas as `backprop`, with g in place of err; sums reduce to w's and b's shape.
        grad_x = w * g if ctx.needs_input_grad[0] else None
        grad_w = (x * g).sum() if ctx.needs_input_grad[1] else None
        grad_b = g.sum() if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b

    @staticmethod
    def jvp(ctx: Any, dx: torch.Tensor | None, dw: torch.Tensor | None, db: torch.Tensor | None) -> torch.Tensor:
        x, w = ctx.saved_tensors
        terms = (None if dw is None else x * dw, db, None if dx is None else w * dx)
        dy = reduce(torch.add, [t for t in terms if t is not None])  # jvp runs only when some tangent is given
        return dy.expand(ctx.shape)  # db alone is 0-dim; the tangent has ŷ's shape
