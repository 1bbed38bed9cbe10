"""Neuron: the book's linear-regression neuron (선형 회귀 뉴런) as a torch.nn.Module."""
import torch
from torch import nn

from . import functional as F
from .training import settings as validate
from .training.fitting import fit_checked


class Neuron(nn.Module):
    """ŷ = w·x + b with 0-dim parameters w and b (1.0 each, as in the book).

    forpass (= forward) and backprop are the book's methods, as plain tensor math: no checks, no host
    sync, NaN in gives NaN out, so torch.fx, torch.export, torch.compile and torch.func work on the
    module. predict and fit are the user-facing paths: they check their input and name the problem.
    fit is the book's training loop, run by an engine. state_dict, .to(), .double() and torch.optim
    work as for any module.
    """

    def __init__(self, w=1.0, b=1.0, *, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype or torch.get_default_dtype())
        self.w = nn.Parameter(torch.tensor(float(w), **kw))  # 가중치 (weight)
        self.b = nn.Parameter(torch.tensor(float(b), **kw))  # 절편 (intercept)

    def _input(self, x, name="x"):
        return validate.as_tensor(x, name, dtype=self.w.dtype, device=self.w.device)

    def forpass(self, x):
        """ŷ = x·w + b, elementwise, for a tensor x of any shape."""
        # Plain ops, not NeuronFunction.apply: fx.symbolic_trace cannot trace a Function that saves
        # tensors for forward mode, torch.compile refuses one with a custom jvp, and torch.export
        # inlines its forward anyway. Autograd of x·w + b gives the same gradients (tests/test_function.py).
        return F.forpass(x, self.w, self.b)

    def forward(self, x):
        """The same as forpass."""
        return self.forpass(x)

    def backprop(self, x, err):
        """(w_grad, b_grad) = (x·err, 1·err): the book's gradients of ½(y − ŷ)², elementwise, no autograd."""
        return F.backprop(x, err)

    @torch.no_grad()
    def predict(self, x):
        """ŷ for new x (numbers, lists or a tensor on the neuron's device; all finite), without a graph."""
        x = self._input(x)
        validate.check_finite(x, "x")
        return self.forpass(x)

    def fit(self, x, y, epochs=100, lr=1.0, *, batch_size=1, shuffle=False, seed=0, engine="auto",
            history=False, progress=False):
        """Per-sample gradient descent as in the book: for each epoch, for each (x_i, y_i), w −= lr·x_i·err.

        x, y: 1-D, one value per sample. batch_size > 1 gives mini-batch descent (n: full batch),
        shuffle=True a seeded new order each epoch. engine: 'auto' (= 'scan'), 'scan', 'loop' or
        'autograd'. Returns the History when history=True, else None. On any error — bad input or
        divergence — w and b stay as they were.
        """
        x, y = self._input(x), self._input(y, "y")
        validate.check_data(x, y, one_dim=True)
        if torch.is_tensor(lr) and lr.dim():
            raise ValueError("Neuron.fit takes one lr (a number or a 0-dim tensor); "
                             "use torch_neuron.fit for a tensor of learning rates")
        with torch.no_grad():
            result = fit_checked(x, y, self.w.detach(), self.b.detach(), epochs=epochs, lr=lr,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed, engine=engine,
                                 history=history, progress=progress)
            self.w.copy_(result.w)
            self.b.copy_(result.b)
        return result.history

    def extra_repr(self):
        values = "" if self.w.is_meta else f"w={self.w.item():.6g}, b={self.b.item():.6g}, "  # meta holds no values
        return values + f"dtype={self.w.dtype}, device={self.w.device}"
