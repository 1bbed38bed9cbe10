"""A diverged fit, drawn: the book's loop run step by step until the loss leaves any sensible range."""

import torch

from ..engines import Orders
from ..functional import sgd_step
from ..training import History, epoch_losses
from .canvas import checked_data, loss_at

BLOWUP = 100.0  # a run whose loss passes 100× its start is diverged: drawn up to that step, the path still readable
MAX_STEPS = 2000  # ~28 µs a step: a slow blow-up is drawn over its first 2,000 steps (~60 ms), not all of them
CHECK_EVERY = 64  # steps between two blow-up checks (one vectorised loss over the block, not one per step)


def blow_up(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    w0: float = 1.0,
    b0: float = 1.0,
    lr: float = 1.0,
    epochs: int = 100,
    batch_size: int = 1,
    shuffle: bool = False,
    seed: int = 0,
    limit: float = BLOWUP,
    max_steps: int = MAX_STEPS,
) -> tuple[History, int, bool]:
    """(w, b) and the loss after each step of the book's loop, up to the step where the loss passes limit × L(w0, b0).

    The loop of engine 'loop' (functional.sgd_step per batch, the fit's sample orders), run here so that it can
    stop at the blow-up, before overflow: → (History of steps, steps per epoch, whether it passed the limit).
    Without a blow-up it stops after `epochs` epochs or max_steps steps.
    """
    x, y = checked_data(x, y)
    n = x.shape[-1]
    per_epoch = -(-n // batch_size)  # a short last batch is a step too
    orders = Orders(n, epochs, shuffle, seed)
    too_big = limit * loss_at(x, y, w0, b0)
    w, b = torch.tensor(float(w0), dtype=torch.float64), torch.tensor(float(b0), dtype=torch.float64)
    ws, bs, losses, checked = [], [], [], 0
    for e in range(epochs):
        xe, ye = orders.apply(e, x, y)
        for s in range(0, n, batch_size):
            w, b = sgd_step(w, b, xe[s : s + batch_size], ye[s : s + batch_size], float(lr))
            ws.append(w)
            bs.append(b)
            last = len(ws) == max_steps or (e == epochs - 1 and s + batch_size >= n)
            if len(ws) - checked < CHECK_EVERY and not last:
                continue
            block = epoch_losses(x, y, torch.stack(ws[checked:]), torch.stack(bs[checked:]))
            losses.append(block)
            over = (~(block <= too_big)).nonzero()  # NaN counts as over
            if len(over):
                k = checked + int(over[0])  # the first step past the limit: where it blew up, drawn too
                return (
                    History(torch.stack(ws[: k + 1]), torch.stack(bs[: k + 1]), torch.cat(losses)[: k + 1]),
                    per_epoch,
                    True,
                )
            checked = len(ws)
            if last:
                return History(torch.stack(ws), torch.stack(bs), torch.cat(losses)), per_epoch, False
    raise AssertionError("unreachable: the last step always returns")  # epochs ≥ 1 (the fit checked them)
