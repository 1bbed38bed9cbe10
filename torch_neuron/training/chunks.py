"""One pipeline for data that arrives in pieces: fit_chunks and the sharded fit_chunks read chunks through it.

Every chunk goes through the front door (settings.py) with the same rules as fit's data; empty chunks
are skipped; the first non-empty chunk fixes the dtype (unless given), the device and the neuron dims,
and a later chunk that differs is refused by its index. It counts the samples and merges their moments.
"""

from collections.abc import Iterator
from typing import Any

import torch

from ..shapes import broadcast_shapes
from . import settings
from .moments import Moments


class Chunks:
    """An iterable of (x, y) chunks, read once: each yielded checked, as tensors of one dtype on one device."""

    def __init__(
        self,
        chunks: Any,
        others: dict[str, Any],
        *,
        dtype: torch.dtype | None = None,
        device: Any = None,
        moments: bool = False,
        empty_ok: bool = False,
        limit: int | None = None,
    ):
        """others: w, b and lr, which share in the dtype's promotion. empty_ok: no samples at all is no error."""
        try:
            self._items = enumerate(iter(chunks))
        except TypeError:
            raise TypeError(f"chunks must be an iterable of (x, y) pairs, not {type(chunks).__name__}") from None
        self.count, self.limit = 0, limit
        self.shape: torch.Size | None = None
        self.setting_shapes: dict[str, tuple[int, ...]] = {}  # w, b and lr: their neuron dims, once checked
        self.moments: Moments | None = None
        self._keep_moments = moments
        self._first = self._next_nonempty(others, dtype, device)
        if self._first is None:
            if not empty_ok:
                raise ValueError("the chunks held no samples: nothing to fit")
            self.dtype = settings.fit_dtype(others, dtype)
            self.device = settings.fit_device(others, device, dtype=self.dtype)

    @property
    def empty(self) -> bool:
        """No chunk held a sample."""
        return self._first is None

    def _pair(self, i: int, item: Any) -> tuple[Any, Any]:
        if torch.is_tensor(item) or not isinstance(item, (tuple, list)) or len(item) != 2:
            what = f"a tensor of shape {tuple(item.shape)}" if torch.is_tensor(item) else type(item).__name__
            raise TypeError(
                f"chunks must be an iterable of (x, y) pairs: chunk {i} is {what} (for one chunk pass [(x, y)])"
            )
        return item[0], item[1]

    def _next_nonempty(
        self, others: dict[str, Any], dtype: Any, device: Any
    ) -> tuple[int, torch.Tensor, torch.Tensor] | None:
        """The first chunk with samples, converted; it fixes self.dtype and self.device."""
        for i, item in self._items:
            x, y = self._pair(i, item)
            named = dict(x=x, y=y, **others)
            self.dtype = settings.fit_dtype(named, dtype)
            self.device = settings.fit_device(named, device, dtype=self.dtype)
            x, y = self._convert(i, x, y)
            if x.shape[-1]:
                return i, x, y
        return None

    def _convert(self, i: int, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        where = f" of chunk {i}"
        x = settings.as_tensor(x, f"x{where}", dtype=self.dtype, device=self.device)
        y = settings.as_tensor(y, f"y{where}", dtype=self.dtype, device=self.device)
        # the (batch, 1) layout is told apart only until a chunk with samples has fixed the neuron dims
        settings.check_data(x, y, empty_ok=True, layout=self.shape is None, where=where)
        return x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._first is None:
            return
        i, x, y = self._first
        yield self._take(i, x, y)
        for i, item in self._items:
            x, y = self._convert(i, *self._pair(i, item))
            if x.shape[-1]:
                yield self._take(i, x, y)

    def _take(self, i: int, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Count, check and remember chunk i: finite, the neuron dims of the first, within the limit."""
        try:
            shape = broadcast_shapes(x.shape[:-1], y.shape[:-1], *self.setting_shapes.values())
        except RuntimeError:
            settings_ = "".join(f", {k} {tuple(v)}" for k, v in self.setting_shapes.items())
            raise ValueError(
                f"chunk {i}: the leading dims of x {tuple(x.shape)}, y {tuple(y.shape)}{settings_} do not broadcast"
            ) from None
        if self.shape is not None and shape != self.shape:
            raise ValueError(f"chunk {i} has neuron dims {tuple(shape)}, the chunks before {tuple(self.shape)}")
        settings.check_finite(x, f"x of chunk {i}")  # one sync per chunk: the chunks are not kept
        settings.check_finite(y, f"y of chunk {i}")
        self.shape, self.count = shape, self.count + x.shape[-1]
        if self.limit is not None and self.count > self.limit:
            raise ValueError(f"the chunks held more than n={self.limit} samples")
        if self._keep_moments:
            m = Moments.of(x, y)
            self.moments = m if self.moments is None else self.moments.merge(m)
        return x, y
