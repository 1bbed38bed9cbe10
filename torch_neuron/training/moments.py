"""The data's moments, merged chunk by chunk: the loss of any (w, b) without keeping the data, accurately.

The loss of a good fit is tiny next to the variance of y, so computing it from y's own moments cancels
away every digit (½[var(y) − ŵ·cov(x, y)] on a near-perfect line is rounding noise). So the moments are
taken of the residual e = y − (w₀·x + b₀) about a provisional line (w₀, b₀), the first piece's least
squares, and accumulated in float64: what is left to cancel is the residual's own size.
"""

from typing import NamedTuple

import torch


class Moments(NamedTuple):
    """n, the shift (w₀, b₀), means of x and of e = y − (w₀x + b₀), centred sums Σdx², Σdx·de, Σde² (..., 1), float64."""

    n: int
    w0: torch.Tensor
    b0: torch.Tensor
    mx: torch.Tensor
    me: torch.Tensor
    sxx: torch.Tensor
    sxe: torch.Tensor
    see: torch.Tensor

    @classmethod
    def of(cls, x: torch.Tensor, y: torch.Tensor, shift: "Moments | None" = None) -> "Moments":
        """The moments of x, y (..., n), samples in the last dim, about shift's line (default: their own least squares)."""
        x, y = x.to(torch.float64), y.to(torch.float64)
        mx = x.mean(-1, keepdim=True)
        dx = x - mx
        if shift is None:
            sxx = (dx * dx).sum(-1, keepdim=True)
            w0 = torch.where(
                sxx > 0,
                (dx * (y - y.mean(-1, keepdim=True))).sum(-1, keepdim=True)
                / sxx.clamp_min(torch.finfo(torch.float64).tiny),
                0,
            )
            b0 = y.mean(-1, keepdim=True) - w0 * mx
        else:
            w0, b0 = shift.w0, shift.b0
        e = y - (w0 * x + b0)
        me = e.mean(-1, keepdim=True)
        de = e - me
        return cls(
            x.shape[-1], w0, b0, mx, me, *((u * v).sum(-1, keepdim=True) for u, v in ((dx, dx), (dx, de), (de, de)))
        )

    def shifted(self, w0: torch.Tensor, b0: torch.Tensor) -> "Moments":
        """The same data's moments about another line: e' = e + (w₀ − w₀')·x + (b₀ − b₀')."""
        dw, db = self.w0 - w0, self.b0 - b0
        return Moments(
            self.n,
            w0,
            b0,
            self.mx,
            self.me + dw * self.mx + db,
            self.sxx,
            self.sxe + dw * self.sxx,
            self.see + 2 * dw * self.sxe + dw * dw * self.sxx,
        )

    def merge(self, other: "Moments") -> "Moments":
        """The moments of both pieces (other brought to this shift first), by Chan's parallel update."""
        if other.w0 is not self.w0 or other.b0 is not self.b0:
            other = other.shifted(self.w0, self.b0)
        n = self.n + other.n
        dx, de, f = other.mx - self.mx, other.me - self.me, self.n * other.n / n
        return Moments(
            n,
            self.w0,
            self.b0,
            self.mx + dx * (other.n / n),
            self.me + de * (other.n / n),
            self.sxx + other.sxx + dx * dx * f,
            self.sxe + other.sxe + dx * de * f,
            self.see + other.see + de * de * f,
        )

    def loss(self, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean ½(y − (x·w + b))² for (w, b) (..., k), in w's dtype: ½[(dw·x̄ + db − ē)² + var(x)·(dw − ŝ)² + r].

        dw = w − w₀, db = b − b₀; ŝ is the least-squares slope of e on x and r its mean squared residual:
        three non-negative terms, each computed without cancelling the others.
        """
        vxx, cxe, vee = self.sxx / self.n, self.sxe / self.n, self.see / self.n
        slope = torch.where(vxx > 0, cxe / torch.where(vxx > 0, vxx, 1), 0)
        r = (vee - slope * cxe).clamp_min(0)  # rounding alone can take it below 0
        dw, db = w.to(torch.float64) - self.w0, b.to(torch.float64) - self.b0
        return (0.5 * ((dw * self.mx + db - self.me) ** 2 + vxx * (dw - slope) ** 2 + r)).to(w.dtype)

    def flat(self) -> torch.Tensor:
        """The moments as one float64 tensor (..., 7), n apart: to send between processes."""
        return torch.cat((self.w0, self.b0, self.mx, self.me, self.sxx, self.sxe, self.see), -1)

    @classmethod
    def from_flat(cls, n: int, flat: torch.Tensor) -> "Moments":
        """The inverse of flat()."""
        return cls(n, *flat.unsqueeze(-1).unbind(-2))


def epoch_losses(x: torch.Tensor, y: torch.Tensor, ws: torch.Tensor, bs: torch.Tensor) -> torch.Tensor:
    """Mean ½(y − ŷ)² over x, y (..., n) for many (w, b) (..., k) at once, in O(n + k)."""
    return Moments.of(x, y).loss(ws, bs)
