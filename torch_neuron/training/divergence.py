"""Divergence: which neurons a fit lost, at which lr, how fast, and the error that says so."""

import math
from typing import NamedTuple

import torch

GROWTH = 1e6  # how far (w, b) may move off where they would settle before we say where they left sensible values


class Diverged(NamedTuple):
    """One neuron that diverged: its index, lr, the epoch map's spectral radius, about when it left a sensible
    range (None when w or b overflowed without the map growing) and (w, b) after the last epoch."""

    neuron: tuple[int, ...]
    lr: float
    radius: float
    epoch: int | None
    w: float
    b: float


class TrainingDiverged(FloatingPointError):
    """The fit grows without bound (or overflowed): lr is too large. The old w and b are kept.

    neurons: a Diverged record for each neuron that diverged (the first few), for callers that word it anew.
    """

    def __init__(self, message: str, neurons: tuple[Diverged, ...] = (), total: int = 1):
        super().__init__(message)
        self.neurons, self.total = neurons, total


def diverged_neurons(
    bad: torch.Tensor, radius: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lr: float | torch.Tensor, shown: int = 5
) -> tuple[tuple[Diverged, ...], int]:
    """The first `shown` neurons that diverged, and how many did."""
    lr = torch.as_tensor(lr).expand(bad.shape)
    radius = radius.expand(bad.shape)
    where = bad.nonzero().tolist()
    neurons = []
    for index in where[:shown]:
        i = tuple(index)
        rho = float(radius[i])
        # the distance from where (w, b) would settle grows by rho an epoch: GROWTH times after this many
        epoch = math.ceil(math.log(GROWTH) / math.log(rho)) if math.isfinite(rho) and rho > 1 else None
        neurons.append(Diverged(i, float(lr[i]), rho, epoch, float(w[i]), float(b[i])))
    return tuple(neurons), len(where)


def divergence_message(neurons: tuple[Diverged, ...], total: int, sweep: bool, epochs: int) -> str:
    """Which neurons diverged, at which lr, how fast, and about when (w, b) left any sensible range."""
    shown = []
    for d in neurons:
        growth = (
            f"each epoch multiplies the distance from where (w, b) would settle by up to {d.radius:.3g}, "
            f"so they were {GROWTH:.0e} times that far by about epoch {d.epoch}"
            if d.epoch is not None
            else "w or b became inf or NaN"
        )
        neuron = f"neuron {d.neuron} " if sweep else ""
        shown.append(f"{neuron}at lr={d.lr:g}: {growth}; after {epochs} epochs w = {d.w:.3g}, b = {d.b:.3g}")
    more = f" (and {total - len(neurons)} more)" if total > len(neurons) else ""
    head = f"{total} of the neurons diverged; on_divergence='nan' returns the others. " if sweep else ""
    return f"training diverged: {head}{'; '.join(shown)}{more}. Try a smaller lr (the old w and b are kept)"
