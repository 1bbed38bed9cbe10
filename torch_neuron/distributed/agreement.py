"""What every rank of a sharded fit must agree on before any data moves: the settings, the neuron dims, the dtype,
and each rank's sample count, in one all_gather that also carries any rank's error to every rank."""

import zlib
from collections.abc import Sequence
from typing import Any

import torch

from ..training.fitting import check_options
from .group import Comm

MAX_DIMS = 16  # neuron dims sent in the agreement, so that a rank without samples learns them

DTYPES = (torch.float32, torch.float64)


class Settings:
    """fit's settings through the checks torch_neuron.fit uses; `key` is what every rank must share."""

    def __init__(
        self,
        w: Any,
        b: Any,
        epochs: Any,
        lr: Any,
        batch_size: Any,
        dtype: torch.dtype,
        device: torch.device,
        history: Any,
        on_divergence: Any,
        *shared: Any,
    ) -> None:
        self.o = check_options(
            w,
            b,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            history=history,
            on_divergence=on_divergence,
            dtype=dtype,
            device=device,
        )
        self.w, self.b, self.epochs, self.lr, self.batch_size, self.history = self.o[:6]
        self.dtype, self.device, self.lr_shape = dtype, device, self.o.lr_shape
        key = 0
        # the dtype is agreed on separately (a rank without samples takes the others'); values as float64
        for v in (
            self.w.double(),
            self.b.double(),
            self.lr if not torch.is_tensor(self.lr) else self.lr.double(),
            self.epochs,
            self.batch_size,
            self.history,
            on_divergence,
            device.type,
            *shared,
        ):
            if torch.is_tensor(v):
                v = (tuple(v.shape), v.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
            key = zlib.crc32(repr(v).encode(), key)
        self.key = key


def agree_on(
    comm: Comm, error: BaseException | None, count: int, key: int, shape: Sequence[int] | None, code: int = 0
) -> tuple[list[int], torch.Size | None, torch.dtype | None]:
    """Every rank's count, the neuron shape of those that sent one, and every rank's `code`, once all are well.

    key: a rank's settings (Settings.key), which must match rank 0's. Any failure raises on every rank alike.
    """
    dims = list(shape) if shape is not None else []
    if error is None and len(dims) > MAX_DIMS:
        error = ValueError(f"more than {MAX_DIMS} neuron dims: {tuple(dims)}")
    sent = [count, key, code, len(dims) if shape is not None else -1] + (dims + [0] * MAX_DIMS)[:MAX_DIMS]
    table = comm.agree(error, sent)
    other = [r for r, row in enumerate(table) if row[1] != table[0][1]]
    if other:
        raise ValueError(
            f"rank {other[0]} was called with other settings or data dims than rank 0: every rank must "
            "pass the same w, b, epochs, lr, batch_size, shuffle, seed, history, dtype, device type "
            "and neuron dims"
        )
    shapes = {r: tuple(row[4 : 4 + row[3]]) for r, row in enumerate(table) if row[3] >= 0}
    if len(set(shapes.values())) > 1:
        raise ValueError(
            "the neuron dims differ between ranks: " + ", ".join(f"rank {r} {d}" for r, d in shapes.items())
        )
    codes = {r: row[2] for r, row in enumerate(table) if row[2]}
    if len(set(codes.values())) > 1:
        raise ValueError(
            "the ranks' data have different dtypes: "
            + ", ".join(f"rank {r} {DTYPES[c - 1]}" for r, c in codes.items())
            + "; pass dtype="
        )
    return (
        [row[0] for row in table],
        torch.Size(next(iter(shapes.values()))) if shapes else None,
        DTYPES[next(iter(codes.values())) - 1] if codes else None,
    )
