"""The diabetes data the book trains on, shipped inside the package (no network, no scikit-learn)."""

import csv
from collections.abc import Sequence
from importlib import resources
from typing import Any, NamedTuple

import torch


class Dataset(NamedTuple):
    """data (442, 10) float64, target (442,) float64, feature_names (10 names)."""

    data: torch.Tensor
    target: torch.Tensor
    feature_names: tuple[str, ...]


def load_diabetes() -> Dataset:
    """The 442×10 diabetes data, scaled as scikit-learn ≥ 1.1 does (centred, / (std·√442)), bit for bit.

    The file holds scikit-learn's values written with repr(), which round-trips float64 exactly.
    """
    # typeshed's Traversable.open lists no newline=; pathlib's and zipfile's open (what files() gives) take it
    with resources.files(__package__).joinpath("diabetes.csv").open(newline="") as f:  # type: ignore[call-overload]
        rows = list(csv.reader(f))
    header, values = rows[0], torch.tensor([[float(v) for v in row] for row in rows[1:]], dtype=torch.float64)
    return Dataset(values[:, :-1].contiguous(), values[:, -1].contiguous(), tuple(header[:-1]))


def feature_index(name_or_index: Any, names: Sequence[str]) -> int:
    """A column given by name ('bmi') or by index ('2', 2) → its index; a clear error otherwise."""
    s = str(name_or_index).strip()
    if s in names:
        return list(names).index(s)
    try:
        i = int(s)
    except ValueError:
        raise ValueError(f"no column {s!r}: choose one of {', '.join(names)} or an index 0..{len(names) - 1}") from None
    if not -len(names) <= i < len(names):
        raise ValueError(f"column index {i} is out of range: there are {len(names)} columns ({', '.join(names)})")
    return i % len(names)
