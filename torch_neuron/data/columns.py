"""Choosing columns of a file by header name or index, with one-line errors that say what to do instead."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from .csv_text import DELIMITERS


def float64s(array: Any) -> np.ndarray:
    """A pyarrow float64 array without nulls as a NumPy view of its buffer (Arrow's to_numpy imports pandas)."""
    return np.frombuffer(array.buffers()[1], np.float64, len(array), array.offset * 8)


def pick(names: Sequence[str], wanted: Sequence[Any], where: str, roles: Sequence[str] = ("x", "y")) -> list[int]:
    """Indices of the columns `wanted` (names or indices, one per role) among `names`; distinct, unambiguous."""
    indices = [_one(names, w, where) for w in wanted]
    for a in range(len(indices)):
        for b in range(a):
            if indices[a] == indices[b]:
                raise ValueError(
                    f"{where}: {roles[b]} and {roles[a]} are both column {names[indices[a]]!r}: "
                    "choose two different columns"
                )
    return indices


def _one(names: Sequence[str], wanted: Any, where: str) -> int:
    s = str(wanted).strip()
    if s in names:
        found = [i for i, n in enumerate(names) if n == s]
        if len(found) > 1:
            raise ValueError(
                f"{where}: {len(found)} columns are named {s!r} (columns {', '.join(map(str, found))}): "
                "rename them, or choose one by index"
            )
        return found[0]
    try:
        i = int(s)
    except ValueError:
        shown = ", ".join(repr(n) for n in names)
        hint = ""
        if len(names) == 1:
            used = [d for d in DELIMITERS if d in names[0]]
            if used:
                hint = f" (the header is one column: is the file separated by {used[0]!r}? say so with --delimiter)"
        raise ValueError(
            f"{where}: no column {s!r}: choose one of {shown} or an index 0..{len(names) - 1}{hint}"
        ) from None
    if not -len(names) <= i < len(names):
        raise ValueError(
            f"{where}: column index {i} is out of range: there are {len(names)} columns "
            f"({', '.join(repr(n) for n in names)})"
        )
    return i % len(names)
