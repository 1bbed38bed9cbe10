"""Parquet files: two numeric columns read a batch at a time (pyarrow.parquet.ParquetFile.iter_batches).

A Parquet file is already split into row groups, and its footer says how many rows each holds, so a
rank of a sharded fit takes whole row groups (a contiguous run of them, about 1/N of the rows) and
knows its row count without reading any data. Only the two columns asked for are read.
"""

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .columns import float64s, pick

BATCH_ROWS = 1 << 16  # rows per chunk handed to the fit: its temporaries are a few times this, per row


class ParquetData:
    """A Parquet file: its column names, its row groups, and two columns of it read as float64 a batch at a time."""

    def __init__(self, path):
        self.path = str(path)
        self.display = self.path
        try:
            # pre_buffer would hold every column chunk it reads ahead (the whole file here): read as we go instead
            self.file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise ValueError(f"{self.path}: not a Parquet file ({_one_line(e)})") from None
        self.schema = self.file.schema_arrow
        self.names = list(self.schema.names)
        meta = self.file.metadata
        self.group_rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        self.stats = dict(bytes_read=0)

    def columns(self, columns: Sequence, roles: Sequence[str] = ("x", "y")) -> list:
        """Indices of the columns (header names or indices): distinct, unambiguous, there, and numeric."""
        indices = pick(self.names, columns, self.path, roles)
        for i in indices:
            t = self.schema.field(i).type
            t = t.value_type if pa.types.is_dictionary(t) else t
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
                raise ValueError(f"{self.path}: column {self.names[i]!r} holds {t}, not numbers")
        return indices

    def describe(self) -> str:
        """How the file is read, in words."""
        return f"parquet, {len(self.group_rows)} row group{'s' * (len(self.group_rows) != 1)}"

    def groups(self, rank: int = 0, world: int = 1) -> list:
        """Rank `rank` of `world`'s row groups: a contiguous run holding about 1/world of the rows (maybe none)."""
        n, first, mine = sum(self.group_rows), 0, []
        for g, rows in enumerate(self.group_rows):
            if n and n * rank <= first * world < n * (rank + 1):  # the group's first row falls in my share
                mine.append(g)
            first += rows
        return mine

    def count_rows(self, groups: Sequence[int] | None = None) -> int:
        """Rows in the row groups (default: all), from the file's footer."""
        return sum(self.group_rows[g] for g in (range(len(self.group_rows)) if groups is None else groups))

    def chunks(
        self, indices: Sequence[int], groups: Sequence[int] | None = None, *, batch_rows: int | None = None
    ) -> Iterator[tuple]:
        """The columns `indices` of the row groups (default: all), as tuples of float64 arrays, a batch at a time.

        A null, NaN or infinite value is a ValueError naming the column and the row (counted from 0 in the file).
        """
        groups = list(range(len(self.group_rows))) if groups is None else list(groups)
        if not groups:
            return
        row = sum(self.group_rows[: groups[0]])
        names = [self.names[i] for i in indices]
        try:
            batches = self.file.iter_batches(
                batch_size=batch_rows or BATCH_ROWS, row_groups=groups, columns=names, use_threads=True
            )
            for batch in batches:
                yield tuple(self._floats(batch.column(k), names[k], row) for k in range(len(names)))
                row += batch.num_rows
        except (pa.ArrowException, OSError) as e:
            raise ValueError(f"{self.path}: unreadable near row {row} ({_one_line(e)})") from None

    def read(self, indices: Sequence[int], groups: Sequence[int] | None = None) -> tuple:
        """Every value of the columns in the row groups, in memory: a tuple of float64 arrays."""
        parts = list(self.chunks(indices, groups))
        return tuple(np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in range(len(indices)))

    def _floats(self, column, name, row):
        """A column's values as float64, or the error naming the first null or non-finite one."""
        if column.null_count:
            at = column.is_null().to_pylist().index(True)
            raise ValueError(
                f"{self.path}, column {name!r}, row {row + at} (from 0): null (no value) is not a finite number"
            )
        if column.type != pa.float64():
            column = column.cast(pa.float64(), safe=False)
        values = float64s(column)
        self.stats["bytes_read"] += values.nbytes
        bad = ~np.isfinite(values)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{self.path}, column {name!r}, row {row + at} (from 0): {float(values[at])!r} is not a finite number"
            )
        return values


def _one_line(error):
    return " ".join(str(error).split())
