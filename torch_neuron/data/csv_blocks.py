"""Blocks of CSV bytes: where their records end (line ends outside quoted cells), and Arrow's parse of one.

A block begins at a record's start. Where every quote opens a field at its start or closes one at its end,
as Python's csv module reads quotes ('""' inside a quoted field included), a line end is inside a cell
exactly when an odd number of quotes comes before it: so counting quotes finds the records' ends. Where
a quote is anywhere else, this says so, and csv_text reads the block instead.
"""

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .columns import float64s


def blank_start(delimiter: str) -> np.ndarray:
    """Bytes a blank row (cells of spaces only) may begin with: whitespace, the delimiter, a quote, non-ASCII."""
    return np.array(sorted({*range(9, 14), *range(28, 33), ord(delimiter), 34, *range(128, 256)}), np.uint8)


def count_lines(data: bytes | bytearray | memoryview) -> int:
    """The line ends in data: LF, CRLF and lone CR, each once."""
    a = np.frombuffer(data, np.uint8)
    lf, cr = int(np.count_nonzero(a == 10)), a == 13
    crs = int(np.count_nonzero(cr))
    return lf + crs - int(np.count_nonzero(cr[:-1] & (a[1:] == 10))) if crs else lf


def ends(a: np.ndarray, final: bool) -> np.ndarray:
    """Positions just after each line end of a (a uint8 array); a CR at the very end counts only if final."""
    lf = a == 10
    cr = a == 13
    cr[:-1] &= ~lf[1:]
    if not final and len(a):
        cr[-1] = False
    return np.flatnonzero(lf | cr) + 1


def free_buffer(buffers: list, size: int) -> list:
    """A [buffer, task] slot of at least `size` bytes whose last block's parse is done (or a new one)."""
    for slot in buffers:
        if len(slot[0]) >= size and (slot[1] is None or slot[1].done()):
            slot[1] = None
            return slot
    slot = [bytearray(size + (1 << 16)), None]  # room for the next block and a record carried over
    buffers.append(slot)
    return slot


def cut(buf: bytearray, n: int, delim: int, final: bool) -> int | None:
    """Where the last whole record of buf[:n] ends (0: none yet; final: all of it); None when its quotes are not
    where the excel dialect puts them, so that counting them could not tell which line ends are inside cells."""
    if buf.find(b'"', 0, n) < 0:
        if final:
            return n
        lf = buf.rfind(b"\n", 0, n)
        cr = buf.rfind(b"\r", 0, n - 1)  # a CR at the very end may have its LF still to come
        return max(lf, cr) + 1
    a = np.frombuffer(buf, np.uint8, n)
    q = np.flatnonzero(a == 34)
    if final:
        return n if len(q) % 2 == 0 and quotes_ok(a, q, delim) else None
    stops = ends(a, final)
    if not len(stops):
        return 0
    if not quotes_ok(a, q[q < stops[-1]], delim):
        return None
    outside = stops[np.searchsorted(q, stops - 1) % 2 == 0]  # an even number of quotes before: not in a cell
    return int(outside[-1]) if len(outside) else 0


def quotes_ok(a: np.ndarray, q: np.ndarray, delim: int) -> bool:
    """Whether the quotes at q (the first of them opening a field) each open a field at its start or close one at its
    end, '""' inside a quoted field included: as Python's csv module reads quotes, so that counting them is exact."""
    bound = np.array([delim, 10, 13, 34], np.uint8)
    opens, closes = q[0::2], q[1::2]
    ok_open = (opens == 0) | np.isin(a[np.maximum(opens - 1, 0)], bound)
    ok_close = (closes + 1 >= len(a)) | np.isin(a[np.minimum(closes + 1, len(a) - 1)], bound)
    return bool(ok_open.all() and ok_close.all())


def parse_block(
    data: bytes, indices: Sequence[int], fields: int, delimiter: str, quoted: bool
) -> tuple[np.ndarray, ...] | None:
    """Arrow's values of the columns `indices` of a block, or None where Python must read it instead."""
    names = [f"c{i}" for i in range(fields)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=len(data) + 1, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: pa.float64() for i in indices},
                include_columns=[names[i] for i in indices],
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:  # a bad cell or a row of another length: Python names it
        return None
    columns = []
    for k in range(len(indices)):
        column = table.column(k)
        parts = [float64s(c) for c in column.chunks]
        v = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)
        if column.null_count or not np.isfinite(v).all():
            return None
        columns.append(v)
    return tuple(columns)
