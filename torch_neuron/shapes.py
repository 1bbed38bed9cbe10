"""Broadcasting of shapes in plain Python.

torch.broadcast_shapes goes through symbolic-shape code: ~20 µs a call, and its first call imports
sympy (0.3 s at every start of the command line). A fit asks a few times, so it asks here.
"""

import itertools
from collections.abc import Iterable

import torch


def broadcast_shapes(*shapes: Iterable[int]) -> torch.Size:
    """The shape all of `shapes` broadcast to, as torch.Size; RuntimeError if they do not (as torch's)."""
    out = []
    for sizes in itertools.zip_longest(*(reversed(tuple(s)) for s in shapes), fillvalue=1):
        other = {s for s in sizes if s != 1}  # sizes of 1 stretch; all others must agree
        if len(other) > 1:
            raise RuntimeError(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
        out.append(other.pop() if other else 1)
    return torch.Size(reversed(out))
