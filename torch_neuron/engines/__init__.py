"""The engines that fit the neuron, and the one place that picks among them.

Every engine takes x, y (..., n), w, b (...) and returns per-epoch w, b (..., epochs);
they differ only in how they run `functional.sgd_step` (see each module).
"""
import torch

from .autograd import fit_autograd
from .loop import fit_loop
from .scan import fit_scan, fit_scan_chunks

ENGINES = {"loop": fit_loop, "autograd": fit_autograd, "scan": fit_scan}
ENGINE_NAMES = ("auto",) + tuple(ENGINES)


def choose_engine(engine):
    """'auto' → 'scan' (it handles every batch size, order, dtype and device); else the name, checked."""
    if engine == "auto":
        return "scan"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_NAMES)}")
    return engine


class Orders:
    """The order of the samples in each epoch: as given, or a seeded shuffle that every engine sees alike."""

    def __init__(self, n, epochs, shuffle, seed):
        self.n, self.shuffled = n, bool(shuffle)
        # one seed per epoch, drawn up front, so epoch e's order never depends on who asked before
        g = torch.Generator().manual_seed(seed)
        self.seeds = torch.randint(0, 2**62, (epochs,), generator=g).tolist() if self.shuffled else []

    def apply(self, e, x, y):
        """x, y (..., n) in epoch e's order."""
        if not self.shuffled:
            return x, y
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seeds[e]))
        if perm.device != x.device:  # pinned and non-blocking: the copy does not make the host wait
            perm = perm.pin_memory().to(x.device, non_blocking=True)
        return x[..., perm], y[..., perm]


def run(engine, x, y, w, b, *, epochs, lr, batch_size, shuffle, seed, progress, history):
    """Fit with the named engine → per-epoch w, b (..., epochs), or (..., 1) holding the last when history is off."""
    fit = ENGINES[choose_engine(engine)]
    orders = Orders(x.shape[-1], epochs, shuffle, seed)
    return fit(x, y, w, b, epochs=epochs, lr=lr, batch_size=batch_size, orders=orders, progress=progress,
               history=history)


__all__ = ["ENGINES", "ENGINE_NAMES", "choose_engine", "run", "fit_scan_chunks", "Orders"]
