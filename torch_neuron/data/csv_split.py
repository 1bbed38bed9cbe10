"""A CSV file shared out across the ranks of a process group, each rank parsing only its own byte range.

Rank r of N takes the records that begin in [p_r, p_r+1), p_r = start + r·(size − start)/N. Where the
first record after p_r begins depends on whether p_r lies inside a quoted cell, that is on the parity
of the quotes before it, which only the ranks before know. So each rank scans its own range once (at
memory speed where it holds no quote) and reports, for either parity at p_r, where its first record
begins and whether every quote in it opens or closes a field as Python's csv module reads quotes;
and its number of quotes. One all_gather later every rank knows its parity, hence its range. A file
with a quote anywhere else (a stray one inside a cell) is read whole by rank 0; the others hold none.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from .csv_blocks import ends
from .csv_reader import CsvFile, Part

SCAN_BYTES = 16 << 20


def split(table: CsvFile, rank: int, world: int, agree: Callable[..., Any]) -> Part:
    """Rank `rank` of `world`'s part of the records: a byte range aligned to record starts, quotes respected.

    agree(error, numbers) → every rank's numbers, raising on every rank if any rank's error is not None
    (torch_neuron.distributed.Comm().agree). Every rank must call this together.
    """
    error, numbers = None, [0, -1, -1, 0, 0]
    try:
        numbers = report(table, rank, world)
    except ValueError as e:
        error = e
    return assign(table, agree(error, numbers), rank)


def report(table: CsvFile, rank: int, world: int) -> list:
    """What rank `rank` tells the others of its nominal range: [quotes, first record start for parity 0 and 1
    (-1: none), whether its quotes are all the dialect's for parity 0 and 1]."""
    if table.seekable:
        return _scan(table, rank, world)
    if table.path == "-" and world > 1:
        raise ValueError("standard input cannot be shared out across ranks: give a file path")
    return [0, -1, -1, 0, 0]


def assign(table: CsvFile, reports: list, rank: int) -> Part:
    """Rank `rank`'s part, from every rank's report."""
    if not table.seekable:  # one pass from the start: rank 0 reads it all
        return Part(table.start) if rank == 0 else Part(table.start, table.start)
    size, world = table.size, len(reports)
    parity = np.cumsum([0] + [row[0] for row in reports])[:-1] % 2
    if not all(row[3 + p] for row, p in zip(reports, parity)):  # a stray quote somewhere: no safe cut
        return Part(table.start, size) if rank == 0 else Part(size, size)  # type: ignore[arg-type]
    starts = [size] * (world + 1)
    for r in range(world - 1, -1, -1):
        found = reports[r][1 + parity[r]]
        starts[r] = found if found >= 0 else starts[r + 1]
    return Part(int(starts[rank]), int(starts[rank + 1]))  # type: ignore[arg-type]


def _scan(table, rank, world):
    """[quotes in my range, first record start for parity 0 and 1 (-1: none), quotes all the dialect's for 0 and 1]."""
    start, size = table.start, table.size
    lo, hi = start + (size - start) * rank // world, start + (size - start) * (rank + 1) // world
    found, ok, quotes = [-1, -1], [True, True], 0
    if lo == start:
        found = [start, start]  # the first record begins where the header ends
    bound = np.array([ord(table.delimiter), 10, 13, 34], np.uint8)
    with open(table.path, "rb", buffering=0) as f:
        pos = lo
        while pos < hi:
            at, end = pos - 1, min(pos + SCAN_BYTES, hi)  # a byte either side: a quote or a CR at an edge needs it
            f.seek(at)
            data = f.read(end - at + 1)
            table.stats["bytes_scanned"] = table.stats.get("bytes_scanned", 0) + len(data)
            seeking = any(found[p] < 0 and (quotes + p) % 2 == 0 for p in (0, 1))  # a line end there would do
            if seeking or b'"' in data[pos - at : end - at]:
                quotes = _judge(
                    np.frombuffer(data, np.uint8), at, pos, end, quotes, found, ok, bound, final=at + len(data) >= size
                )
            pos = end
    return [quotes, found[0], found[1], int(ok[0]), int(ok[1])]


def _judge(a, at, pos, end, quotes, found, ok, bound, final):
    """Record starts and quotes in [pos, end) (a: the bytes from `at`), for either parity of the quotes before
    the range; `quotes` were in the range before pos. Returns the quotes so far."""
    q = np.flatnonzero(a == 34) + at
    q = q[(q >= pos) & (q < end)]
    s = ends(a, final) + at  # just after a line end: where a record may begin
    s = s[(s >= pos) & (s < end)]
    before = quotes + np.searchsorted(q, s - 1)  # quotes before that line end
    for parity in (0, 1):
        if found[parity] < 0:
            free = s[(before + parity) % 2 == 0]
            if len(free):
                found[parity] = int(free[0])
        if len(q) and ok[parity]:
            opens = (quotes + np.arange(len(q)) + parity) % 2 == 0
            near = np.where(opens, q - 1, q + 1) - at  # the byte before an opening quote, after a closing one
            past = near >= len(a)  # a closing quote at the end of the file
            ok[parity] = bool((past | np.isin(a[np.minimum(near, len(a) - 1)], bound)).all())
    return quotes + len(q)
