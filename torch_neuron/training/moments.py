"""The data's first and second moments, merged chunk by chunk: the loss of any (w, b) without the data."""
from typing import NamedTuple

import torch


class Moments(NamedTuple):
    """n, the means of x and y, and the centred sums Σ(x−x̄)², Σ(x−x̄)(y−ȳ), Σ(y−ȳ)², each (..., 1)."""
    n: int
    mx: torch.Tensor
    my: torch.Tensor
    sxx: torch.Tensor
    sxy: torch.Tensor
    syy: torch.Tensor

    @classmethod
    def of(cls, x, y):
        """The moments of x, y (..., n), samples in the last dim."""
        mx, my = x.mean(-1, keepdim=True), y.mean(-1, keepdim=True)
        dx, dy = x - mx, y - my
        return cls(x.shape[-1], mx, my, *((u * v).sum(-1, keepdim=True) for u, v in ((dx, dx), (dx, dy), (dy, dy))))

    def merge(self, other):
        """The moments of both pieces of data, by Chan's parallel update: centred sums only, so nothing cancels."""
        n = self.n + other.n
        dx, dy, f = other.mx - self.mx, other.my - self.my, self.n * other.n / n
        return Moments(n, self.mx + dx * (other.n / n), self.my + dy * (other.n / n),
                       self.sxx + other.sxx + dx * dx * f, self.sxy + other.sxy + dx * dy * f,
                       self.syy + other.syy + dy * dy * f)

    def loss(self, w, b):
        """Mean ½(y − (x·w + b))² for (w, b) (..., k): ½[(w·x̄ + b − ȳ)² + var(x)·(w − ŵ)² + r].

        ŵ is the least-squares slope and r its mean squared residual: three non-negative terms.
        """
        vxx, cxy, vyy = self.sxx / self.n, self.sxy / self.n, self.syy / self.n
        slope = torch.where(vxx > 0, cxy / torch.where(vxx > 0, vxx, 1), 0)
        r = (vyy - slope * cxy).clamp_min(0)  # rounding alone can take it below 0
        return 0.5 * ((w * self.mx + b - self.my) ** 2 + vxx * (w - slope) ** 2 + r)
