"""The engines that fit the neuron, and the one place that picks among them.

Every engine takes x, y (..., n) and w, b of the neuron shape (...), runs `epochs` ≥ 1 epochs, and
returns (w, b, trajectory, radius): the last w, b (...), when history is asked for the per-epoch
(ws, bs) (..., epochs) (else None), and the spectral radius of the epoch's map (...), the largest over
the epochs when shuffled: above 1 the fit grows without bound. They differ only in how they run
`functional.sgd_step`.
"""

import torch

from .autograd import fit_autograd
from .loop import fit_loop
from .scan import fit_scan, growth

ENGINES = {"loop": fit_loop, "autograd": fit_autograd, "scan": fit_scan}
ENGINE_NAMES = ("auto",) + tuple(ENGINES)


def choose_engine(engine: str) -> str:
    """The engine's name, checked: 'auto' → 'scan' (it handles every batch size, order, dtype and device)."""
    if engine == "auto":
        return "scan"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_NAMES)}")
    return engine


class Orders:
    """The order of the samples in each epoch: as given, or a seeded shuffle that every engine sees alike."""

    def __init__(self, n: int, epochs: int, shuffle: bool, seed: int) -> None:
        self.n, self.shuffled = n, bool(shuffle)
        # one seed per epoch, drawn up front, so epoch e's order never depends on who asked before
        self.seeds = (
            torch.randint(0, 2**62, (epochs,), generator=torch.Generator().manual_seed(seed)).tolist()
            if self.shuffled
            else []
        )

    def perm(self, e: int) -> torch.Tensor | None:
        """Epoch e's order: a permutation of range(n) on the CPU, or None when the samples keep their order."""
        if not self.shuffled:
            return None
        return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seeds[e]))

    def apply(self, e: int, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x, y (..., n) in epoch e's order."""
        perm = self.perm(e)
        if perm is None:
            return x, y
        if perm.device != x.device:  # pinned and non-blocking: the copy does not make the host wait
            perm = perm.pin_memory().to(x.device, non_blocking=True)
        return x[..., perm], y[..., perm]


__all__ = ["ENGINES", "ENGINE_NAMES", "choose_engine", "growth", "Orders"]
