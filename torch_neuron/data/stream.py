"""Files as (x, y) chunks for fit_chunks: two columns of a CSV or Parquet file, streamed, or one rank's part of them.

import torch_neuron as tn
from torch_neuron.data import csv_chunks, parquet_chunks
r = tn.fit_chunks(parquet_chunks("big.parquet", "bmi", "target"))       # one pass, memory per batch
r = distributed.fit_chunks(csv_chunks("big.csv", "x", "y", shard=True))  # under torchrun: my byte range
"""

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..training.moments import Moments


class Reservoir:
    """A uniform sample of at most `size` rows of all rows added, kept as rows are added: the rows with the
    smallest random keys (reservoir sampling). rows: (k, 3) [key, x, y], so samples of parts merge alike."""

    def __init__(self, size: int, seed: int = 0):
        self.size, self.generator = size, torch.Generator().manual_seed(seed)
        self.rows = torch.empty(0, 3, dtype=torch.float64)

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Offer the rows (x, y) to the sample."""
        keys = torch.rand(len(x), generator=self.generator, dtype=torch.float64)
        rows = torch.cat((self.rows, torch.stack((keys, x.cpu().double(), y.cpu().double()), 1)))
        self.rows = rows[rows[:, 0].topk(min(self.size, len(rows)), largest=False).indices.sort().values]


class Stream:
    """Two columns of a file (a CsvFile or ParquetData) as (x, y) tensor chunks, read once each time it is iterated.

    part: a CSV byte range (csv_reader.Part) or a list of Parquet row groups; None: the whole file.
    On the way it counts the rows (`count`), merges their Moments when `moments` and keeps a Reservoir
    `sample` of at most `sample` rows for a picture. No rows at all is an error unless empty_ok.
    threads: torch's intra-op threads while it is read (None: as they are). One suits a fit that streams: each
    chunk's torch work is small, the parser's threads want the cores, and torch's OpenMP threads spin-wait after
    every parallel op, so that both sharing the cores made reading 10M rows 5-10x slower on 2 busy cores.
    """

    def __init__(
        self,
        source,
        indices: Sequence[int],
        part=None,
        *,
        dtype: torch.dtype = torch.float64,
        device="cpu",
        sample: int = 0,
        seed: int = 0,
        empty_ok: bool = False,
        moments: bool = False,
        threads: int | None = None,
    ):
        self.source, self.indices, self.part = source, list(indices), part
        self.dtype, self.device, self.empty_ok, self.keep_moments = dtype, device, empty_ok, moments
        self.size, self.seed, self.threads = sample, seed, threads
        self.count, self.moments, self.sample = 0, None, Reservoir(sample, seed)

    @property
    def names(self) -> tuple:
        """The column names of x and y."""
        return tuple(self.source.names[i] for i in self.indices)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.count, self.moments, self.sample = 0, None, Reservoir(self.size, self.seed)
        threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            yield from self._chunks()
        finally:
            torch.set_num_threads(threads)
        if not self.count and not self.empty_ok:
            raise ValueError(f"{self.source.display}: no data rows after the header")

    def _chunks(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.source.chunks(self.indices, self.part):
            # a copy (Arrow's buffers are read-only), then the fit's dtype and device; torch.tensor(array) is slower
            x, y = (torch.from_numpy(np.array(v)).to(device=self.device, dtype=self.dtype) for v in (x, y))
            self.count += len(x)
            if self.keep_moments:
                m = Moments.of(x, y)
                self.moments = m if self.moments is None else self.moments.merge(m)  # type: ignore[assignment]
            if self.size:
                self.sample.add(x, y)
            yield x, y

    def count_rows(self) -> int:
        """The rows an iteration yields, counted without keeping them (CSV: lines, parsing only where needed)."""
        return self.source.count_rows(self.part)

    def read(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every row in memory: (x, y) tensors."""
        parts = list(self)
        if not parts:
            empty = torch.empty(0, dtype=self.dtype, device=self.device)
            return empty, empty.clone()
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def open_file(
    path: str | os.PathLike, *, parquet: bool = False, encoding: str | None = None, delimiter: str | None = None
) -> Any:
    """A CsvFile, or a ParquetData when `parquet` (encoding and delimiter are CSV's)."""
    if parquet:
        if encoding is not None or delimiter is not None:
            raise ValueError("--encoding and --delimiter are for CSV files; a Parquet file says its own types")
        from .parquet_reader import ParquetData  # pyarrow only when a file is read

        return ParquetData(path)
    from .csv_reader import CsvFile

    return CsvFile(path, encoding=encoding, delimiter=delimiter)


def part_of(source: Any, rank: int, world: int, agree: Callable[..., Any] | None = None) -> Any:
    """Rank `rank` of `world`'s part of a file: Parquet row groups (no messages), or a CSV byte range (every rank
    must call this together; agree is distributed.Comm().agree)."""
    if hasattr(source, "groups"):
        return source.groups(rank, world)
    if agree is None:
        from ..distributed import Comm

        agree = Comm().agree
    from . import csv_split

    return csv_split.split(source, rank, world, agree)


def csv_chunks(
    path: str | os.PathLike,
    x: str | int,
    y: str | int,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    shard: bool = False,
    group: Any = None,
) -> Stream:
    """Columns x and y (header names or indices) of a CSV file as float64 (x, y) chunks for fit_chunks.

    shard: only this rank's part of the file, for torch_neuron.distributed.fit_chunks: every rank of
    `group` (default: the default group) must call it together; the ranks' parts are its records in order.
    """
    return _chunks(lambda: open_file(path, encoding=encoding, delimiter=delimiter), x, y, shard, group)


def parquet_chunks(
    path: str | os.PathLike, x: str | int, y: str | int, *, shard: bool = False, group: Any = None
) -> Stream:
    """Columns x and y (names or indices) of a Parquet file as float64 (x, y) chunks for fit_chunks.

    shard: only this rank's row groups (about 1/N of the rows), for torch_neuron.distributed.fit_chunks.
    """
    return _chunks(lambda: open_file(path, parquet=True), x, y, shard, group)


def _chunks(make, x, y, shard, group):
    if not shard:
        source = make()
        return Stream(source, source.columns([x, y]))
    import torch.distributed as dist

    from ..distributed import ERRORS, Comm

    comm, error, source, indices = Comm(group), None, None, None
    try:
        source = make()
        indices = source.columns([x, y])
    except ERRORS as e:
        error = e
    comm.agree(error)  # a rank that cannot open the file stops every rank
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    return Stream(source, indices, part_of(source, rank, world, comm.agree), empty_ok=True)


def read_column(
    path: str | os.PathLike,
    column: str | int,
    *,
    parquet: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[str, torch.Tensor]:
    """(name, float64 values) of one column (header name or index) of a CSV or Parquet file, in memory."""
    source = open_file(path, parquet=parquet, encoding=encoding, delimiter=delimiter)
    (i,) = source.columns([column], roles=("--x",))
    (values,) = source.read([i])
    if not len(values):
        raise ValueError(f"{source.display}: no data rows after the header")
    return source.names[i], torch.from_numpy(values.copy())
