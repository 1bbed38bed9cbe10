"""The book's neuron as pure functions of tensors: the math of one update, written once.

Every engine derives from `sgd_step`: the loop calls it per (mini-)batch, the autograd
engine must agree with it, and the scan reads its affine map off it (engines/scan.py).
"""

from typing import Any

import torch


def forpass(x: torch.Tensor, w: torch.Tensor | float, b: torch.Tensor | float) -> torch.Tensor:
    """Forward pass (정방향 계산): ŷ = x·w + b, elementwise."""
    return x * w + b


def backprop(x: torch.Tensor, err: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward pass (역방향 계산) with err = −(y − ŷ): (w_grad, b_grad) = (x·err, 1·err)."""
    return x * err, err  # 1·err is err itself: no multiply needed


def squared_error(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """Half squared error, elementwise: L = ½(y − ŷ)², so ∂L/∂ŷ = −(y − ŷ) = err."""
    return 0.5 * (y - y_hat) ** 2


def _col(t: Any) -> Any:
    # (...) → (..., 1) so one w per neuron broadcasts over that neuron's samples
    return t.unsqueeze(-1) if torch.is_tensor(t) else t


def sgd_step(
    w: torch.Tensor | float, b: torch.Tensor | float, x: torch.Tensor, y: torch.Tensor, lr: torch.Tensor | float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One gradient-descent step on the batch in the last dim of x and y.

    w ← w − lr·mean(x·err),  b ← b − lr·mean(err),  with err = −(y − ŷ).
    Shapes: x, y (..., m); w, b, lr (...) or Python floats → new w, b (...).
    With m = 1 and lr = 1 it is the book's `w -= w_grad; b -= b_grad`, bit for bit.
    """
    err = forpass(x, _col(w), _col(b)) - y  # = −(y − ŷ) bit for bit (IEEE subtraction is antisymmetric), one op less
    w_grad, b_grad = backprop(x, err)
    if isinstance(lr, float) and lr == 1.0:  # the book's lr: multiplying by 1 is exact, so skip two passes
        return w - _mean(w_grad), b - _mean(b_grad)
    return w - lr * _mean(w_grad), b - lr * _mean(b_grad)


def _mean(g: torch.Tensor) -> torch.Tensor:
    # over the batch; a batch of one is its own mean, exactly, without a reduction kernel
    return g.squeeze(-1) if g.shape[-1] == 1 else g.mean(-1)


def mean_loss(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | float, b: torch.Tensor | float) -> torch.Tensor:
    """Mean half squared error over the last dim: mean ½(y − (x·w + b))² → (...)."""
    return squared_error(y, forpass(x, _col(w), _col(b))).mean(-1)
