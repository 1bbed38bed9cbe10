"""Neuron: the book's linear-regression neuron (선형 회귀 뉴런) as a torch.nn.Module."""

from typing import Any

import torch
from torch import nn

from . import functional as F
from .training import settings
from .training.fitting import History, check_options, run_fit


class Neuron(nn.Module):
    """ŷ = w·x + b with 0-dim parameters w and b (1.0 each, as in the book).

    forpass (= forward) and backprop are the book's methods, as plain tensor math: no checks, no host
    sync, NaN in gives NaN out, so torch.fx, torch.export, torch.compile and torch.func work on the
    module. predict and fit are the user-facing paths: they check their input and name the problem.
    fit is the book's training loop, run by an engine. state_dict, .to(), .double() and torch.optim
    work as for any module.
    """

    def __init__(self, w: Any = 1.0, b: Any = 1.0, *, device: Any = None, dtype: torch.dtype | None = None):
        super().__init__()
        dtype = settings.check_dtype(dtype) if dtype is not None else settings.fit_dtype({}, None)
        device = settings.fit_device({}, device, dtype=dtype)
        self.w = nn.Parameter(self._number(w, "w", dtype, device))  # 가중치 (weight)
        self.b = nn.Parameter(self._number(b, "b", dtype, device))  # 절편 (intercept)

    @staticmethod
    def _number(value: Any, name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        t = settings.check_start(value, name, dtype=dtype, device=device)  # a number is checked finite there
        if torch.is_tensor(value) or not isinstance(value, (float, int)):
            settings.check_finite(t, name)
        if t.numel() != 1:
            raise ValueError(
                f"{name} must be one number, got shape {tuple(t.shape)}: for many neurons at once use torch_neuron.fit"
            )
        return t.reshape(()).clone() if torch.is_tensor(value) else t.reshape(())  # never the caller's tensor

    def _input(self, x: Any, name: str = "x") -> torch.Tensor:
        return settings.as_tensor(x, name, dtype=self.w.dtype, device=self.w.device, move=False)

    def forpass(self, x: torch.Tensor) -> torch.Tensor:
        """ŷ = x·w + b, elementwise, for a tensor x of any shape."""
        # Plain ops, not NeuronFunction.apply: fx.symbolic_trace cannot trace a Function that saves
        # tensors for forward mode, torch.compile refuses one with a custom jvp, and torch.export
        # inlines its forward anyway. Autograd of x·w + b gives the same gradients (tests/test_function.py).
        return F.forpass(x, self.w, self.b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same as forpass."""
        return self.forpass(x)

    def backprop(self, x: torch.Tensor, err: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(w_grad, b_grad) = (x·err, 1·err): the book's gradients of ½(y − ŷ)², elementwise, no autograd."""
        return F.backprop(x, err)

    @torch.no_grad()
    def predict(self, x: Any) -> torch.Tensor:
        """ŷ for new x (numbers, lists or a tensor on the neuron's device; all finite), without a graph."""
        x = self._input(x)
        settings.check_finite(x, "x")
        return self.forpass(x)

    def fit(
        self,
        x: Any,
        y: Any,
        epochs: int = 100,
        lr: Any = 1.0,
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        engine: str = "auto",
        history: bool = False,
        progress: bool = False,
    ) -> History | None:
        """Per-sample gradient descent as in the book: for each epoch, for each (x_i, y_i), w −= lr·x_i·err.

        x, y: 1-D, one value per sample. batch_size > 1 gives mini-batch descent (n: full batch),
        shuffle=True a seeded new order each epoch. engine: 'auto' (= 'scan'), 'scan', 'loop' or
        'autograd'. Returns the History when history=True, else None. On any error — bad input or
        divergence — w and b stay as they were.
        """
        x, y = self._input(x), self._input(y, "y")
        settings.check_data(x, y, one_dim=True)
        dtype, device = self.w.dtype, self.w.device
        o = check_options(
            self.w.detach(),
            self.b.detach(),
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            history=history,
            on_divergence="raise",
            dtype=dtype,
            device=device,
        )
        if torch.is_tensor(o.lr):
            raise ValueError(
                "Neuron.fit takes one lr (a number or a 0-dim tensor); "
                "use torch_neuron.fit for a tensor of learning rates"
            )
        result = run_fit(
            x,
            y,
            o,
            shuffle=settings.check_flag(shuffle, "shuffle"),
            seed=settings.check_seed(seed),
            engine=settings.check_choice(engine, "engine", settings.ENGINE_NAMES),
            progress=settings.check_flag(progress, "progress"),
        )
        with torch.no_grad():
            self.w.copy_(result.w)
            self.b.copy_(result.b)
        return result.history

    def extra_repr(self) -> str:
        values = "" if self.w.is_meta else f"w={self.w.item():.6g}, b={self.b.item():.6g}, "  # meta holds no values
        return values + f"dtype={self.w.dtype}, device={self.w.device}"
