"""The data's moments, merged chunk by chunk: the loss of any (w, b) without keeping the data, accurately.

For data (x, y) with means x̄, ȳ, Sxx = Σ(x − x̄)², least-squares slope ŝ and residual sum r about that
line, the mean loss of any (w, b) is a sum of three non-negative terms,

    L(w, b) = ½ [ r + Sxx·(w − ŝ)² + n·(w·x̄ + b − ȳ)² ] / n,

so nothing cancels, even on a near-perfect fit (where r is tiny next to Σ(y − ȳ)²; the usual
½[var(y) − ŝ·cov(x, y)] would leave only rounding noise). r is summed directly from each chunk's
residuals, and merging two chunks adds a non-negative term (Lagrange's identity), in float64.
"""

from typing import NamedTuple

import torch


class Moments(NamedTuple):
    """n; the means x̄, ȳ; Sxx; the least-squares slope ŝ and residual sum r about its line: each (..., 1), float64."""

    n: int
    mx: torch.Tensor
    my: torch.Tensor
    sxx: torch.Tensor
    slope: torch.Tensor
    r: torch.Tensor

    @classmethod
    def of(cls, x: torch.Tensor, y: torch.Tensor) -> "Moments":
        """The moments of x, y (..., n), samples in the last dim."""
        x, y = x.to(torch.float64), y.to(torch.float64)
        mx, my = x.mean(-1, keepdim=True), y.mean(-1, keepdim=True)
        dx, dy = x - mx, y - my
        sxx = (dx * dx).sum(-1, keepdim=True)
        slope = _ratio((dx * dy).sum(-1, keepdim=True), sxx)
        return cls(x.shape[-1], mx, my, sxx, slope, (dy - slope * dx).square().sum(-1, keepdim=True))

    def merge(self, other: "Moments") -> "Moments":
        """The moments of both pieces of data (Chan's update for the means and Sxx).

        The residual of the merged line is r₁ + r₂ + [a·c·(ŝ₁ − ŝ₂)² + f·a·(ŝ₁·dx − dy)² + f·c·(ŝ₂·dx − dy)²] / Sxx,
        a = Sxx₁, c = Sxx₂, f = n₁n₂/n, (dx, dy) the difference of the means: non-negative terms only.
        """
        n = self.n + other.n
        f = self.n * other.n / n
        dx, dy = other.mx - self.mx, other.my - self.my
        a, c = self.sxx, other.sxx
        sxx = a + c + f * dx * dx
        slope = _ratio(self.slope * a + other.slope * c + f * dx * dy, sxx)
        between = a * c * (self.slope - other.slope) ** 2 + f * (
            a * (self.slope * dx - dy) ** 2 + c * (other.slope * dx - dy) ** 2
        )
        # every x equal: no slope to fit, and the means' difference is all that is left between the pieces
        extra = torch.where(sxx > 0, _ratio(between, sxx), f * dy * dy)
        return Moments(
            n, self.mx + dx * (other.n / n), self.my + dy * (other.n / n), sxx, slope, self.r + other.r + extra
        )

    def loss(self, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean ½(y − (x·w + b))² for (w, b) (..., k), in w's dtype: ½[r + Sxx·(w − ŝ)² + n·(w·x̄ + b − ȳ)²] / n."""
        w64, b64 = w.to(torch.float64), b.to(torch.float64)
        total = self.r + self.sxx * (w64 - self.slope) ** 2 + self.n * (w64 * self.mx + b64 - self.my) ** 2
        return (0.5 * total / self.n).to(w.dtype)

    def flat(self) -> torch.Tensor:
        """The moments as one float64 tensor (..., 5), n apart: to send between processes."""
        return torch.cat((self.mx, self.my, self.sxx, self.slope, self.r), -1)

    @classmethod
    def from_flat(cls, n: int, flat: torch.Tensor) -> "Moments":
        """The inverse of flat()."""
        return cls(n, *flat.unsqueeze(-1).unbind(-2))


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # num / den, and 0 where den is 0 (no spread in x: no slope)
    return torch.where(den > 0, num / torch.where(den > 0, den, 1), 0)


def epoch_losses(x: torch.Tensor, y: torch.Tensor, ws: torch.Tensor, bs: torch.Tensor) -> torch.Tensor:
    """Mean ½(y − ŷ)² over x, y (..., n) for many (w, b) (..., k) at once, in O(n + k)."""
    return Moments.of(x, y).loss(ws, bs)
