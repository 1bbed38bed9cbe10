"""CSV files of numbers streamed through Arrow's C++ parser: a few blocks at a time, on several threads.

The file is read in blocks of whole records (BLOCK_BYTES, cut after a line end that is outside quotes),
so memory is per block, not per file. Each block goes to pyarrow.csv.read_csv on a thread of its own
(several in flight), which parses only the two columns asked for, as float64. A block is Arrow's only
when Arrow must read it as Python's csv module does: its quotes all open and close fields where the
excel dialect puts them (then counting quotes finds the line ends inside cells), and Arrow returns a
finite number for every cell. Any other block (a stray quote, a blank row of spaces, a bad cell) is
read by csv_text with Python's csv module and float(), which returns the same numbers or names the
line and the column at fault. Knowing each block's byte offset is what lets an error name its line and
lets each rank of a sharded fit parse only its own byte range (csv_split.py).
"""

import concurrent.futures
import itertools
import os
import stat
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from . import byte_streams as streams
from . import csv_blocks as blocks
from . import csv_text as text
from .columns import pick

BLOCK_BYTES = 2 << 20  # ~50,000 rows of two numbers: a chunk for the fit; Arrow parses one block per thread
MAX_RECORD = 64 << 20  # a record this long is refused: a quote that never closes would otherwise read the file
THREADS = max(2, min(8, pa.cpu_count()))
IN_FLIGHT = 2 * THREADS  # blocks parsed side by side, then handed on in order
CHUNK_ROWS = 1 << 17  # rows per chunk handed on (blocks joined): 2 MB of values, a few times that in temporaries


class Part(NamedTuple):
    """A byte range [start, end) of the file's records (end None: to the end of the file)."""

    start: int
    end: int | None = None


class CsvFile:
    """A CSV file with a header row: its column names, delimiter and encoding, and its records read by blocks.

    path '-' reads standard input (once, as any pipe). encoding None: UTF-8, or what a byte-order mark says.
    delimiter None: sniffed from the header (one of , ; tab |), and `sniffed` says so.
    """

    def __init__(self, path, *, encoding: str | None = None, delimiter: str | None = None):
        self.path = path if path == "-" else os.fspath(path)
        self.display = "<stdin>" if path == "-" else self.path
        self.stats = dict(bytes_read=0, bytes_scanned=0, arrow_blocks=0, python_blocks=0, count_blocks=0)
        self.sniffed = delimiter is None
        self._once = None  # a pipe or standard input: the stream after the header, read once
        raw = sys.stdin.buffer if path == "-" else open(self.path, "rb", buffering=0)
        try:
            self.regular = path != "-" and stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
            head = streams.Reader(raw)
            first = head.read(4)
            self.encoding, skip = text.encoding_of(encoding, first)
            head.pending = first[skip:]
            if text.ascii_compatible(self.encoding):  # its bytes split as they are: only cells are decoded
                self.text_encoding, stream, base = self.encoding, head, skip
            else:  # UTF-16 and the like: read as UTF-8, in one pass from the start
                self.text_encoding, stream, base = (
                    "utf-8",
                    streams.Reader(streams.Transcoded(streams.Reader(raw, first), self.encoding)),
                    0,
                )
            self.seekable = self.regular and text.ascii_compatible(self.encoding)
            data, (names, used, lines, self.delimiter, _) = self._header(stream, delimiter)
            self.start, self.start_line = base + used, lines + 1
            if not self.regular:
                self._once = streams.Reader(stream, data[used:])
        finally:
            if self._once is None and path != "-":
                raw.close()
        self.names = names
        self.size = os.path.getsize(self.path) if self.seekable else None

    def _header(self, stream, delimiter):
        delimiter = None if delimiter is None else text.check_delimiter(delimiter)
        data = b""
        while True:
            more = streams.read_text(stream, max(len(data), 1 << 16), self.display, self.encoding)
            data += more
            try:
                found = text.header(data, final=not more, encoding=self.text_encoding, delimiter=delimiter)
            except text.RowError as e:
                raise ValueError(f"{self.display}, line {e.line + 1}: {e.message}") from None
            if found is not None:
                break
            if len(data) > MAX_RECORD:
                raise ValueError(f"{self.display}: no header row in the first {MAX_RECORD >> 20} MB")
        names, used, first = found[0], found[1], found[4]
        where = f"{self.display}, line {first + 1}"
        if not names:
            raise ValueError(f"{self.display}: the file is empty: a header row and data rows are needed")
        if any(text.undecodable(n) for n in names):
            raise ValueError(f"{where}: {text.not_text(data[:used], self.encoding)}")
        if any("\x00" in n for n in names):
            raise ValueError(
                f"{where}: the header holds NUL bytes: not a text CSV file, or UTF-16 text "
                "without a byte-order mark (try --encoding utf-16-le)"
            )
        if all(text.is_number(n) for n in names):
            raise ValueError(
                f"{self.display}: the first row must be a header of column names, got numbers: {found[3].join(names)}"
            )
        return data, found

    def columns(self, columns: Sequence, roles: Sequence[str] = ("x", "y")) -> list:
        """Indices of columns given by header name or index: distinct, unambiguous, there."""
        return pick(self.names, columns, self.display, roles)

    def describe(self) -> str:
        """How the file is read, in words: 'csv, ';'-separated (sniffed), cp949'."""
        return f"csv, {self.delimiter!r}-separated{' (sniffed)' if self.sniffed else ''}, {self.encoding}"

    def chunks(
        self, indices: Sequence[int], part: Part | None = None, *, block_bytes: int | None = None
    ) -> Iterator[tuple]:
        """The values of the columns `indices` in the records of `part` (default: all), a block at a time.

        Each chunk is a tuple of float64 arrays, one per column. Any cell that is not a finite number, and
        any row that is not CSV, is a ValueError naming the file, the line and the column.
        """
        yield from self._run(part, indices, block_bytes, counting=False)

    def count_rows(self, part: Part | None = None, *, block_bytes: int | None = None) -> int:
        """The number of rows chunks() yields from part (if it reads them all): lines counted, records parsed only
        in blocks with quotes or a row that may be blank."""
        return sum(len(values[0]) for values in self._run(part, [0], block_bytes, counting=True))

    def _run(self, part, indices, block_bytes, counting):
        """The values of the blocks of part, in order, while the next IN_FLIGHT blocks are parsed; joined into chunks
        of about CHUNK_ROWS rows (a fit's work per chunk is partly fixed: fewer, larger chunks cost less)."""
        part = part or Part(self.start)
        if part.end is not None and part.end <= part.start:
            return
        pool = concurrent.futures.ThreadPoolExecutor(THREADS)
        pending, line = deque(), self.start_line if part.start == self.start else None
        ready, rows = [], 0
        try:
            tasks = self._tasks(part, indices, counting, block_bytes or BLOCK_BYTES, pool)
            for offset, task in itertools.chain(tasks, [(None, None)] * IN_FLIGHT):
                if task is not None:
                    pending.append((offset, task))
                if len(pending) >= IN_FLIGHT or (task is None and pending):
                    values, line = self._result(*pending.popleft(), line)
                    if len(values[0]):
                        ready.append(values)
                        rows += len(values[0])
                if ready and (rows >= CHUNK_ROWS or (task is None and not pending)):
                    yield ready[0] if len(ready) == 1 else tuple(np.concatenate(c) for c in zip(*ready))
                    ready, rows = [], 0
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def read(self, indices: Sequence[int], part: Part | None = None) -> tuple:
        """Every value of the columns `indices` in `part`, in memory: a tuple of float64 arrays."""
        parts = list(self.chunks(indices, part))
        return tuple(np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in range(len(indices)))

    def open(self, part: Part) -> tuple[Any, int | None]:
        """(binary stream at part.start, bytes to read or None)."""
        if self.seekable:
            f = open(self.path, "rb", buffering=0)
            f.seek(part.start)
            return streams.Reader(f), None if part.end is None else part.end - part.start
        if not self.regular:
            if self._once is None:
                raise ValueError(
                    f"{self.display} can be read once only: for a fit that reads the data twice, give a file"
                )
            stream, self._once = self._once, None
            return stream, None
        stream = streams.Reader(streams.Transcoded(streams.Reader(open(self.path, "rb", buffering=0)), self.encoding))
        streams.read_text(stream, self.start, self.display, self.encoding)  # past the header
        return stream, None

    def _tasks(self, part, indices, counting, block_bytes, pool):
        """(offset, future of (values, lines, how)) of each block of whole records, in order."""
        stream, left = self.open(part)
        # blocks are read into buffers used again once their parse is done: a fresh one per block costs its
        # pages' faults (a third of the reading time here)
        buffers = []
        try:
            carry, offset, delim = b"", part.start, ord(self.delimiter)
            while True:
                want = block_bytes if left is None else min(block_bytes, left)
                slot = blocks.free_buffer(buffers, len(carry) + want)
                buf = slot[0]
                buf[: len(carry)] = carry
                new = streams.decoded(stream.fill, buf, len(carry), want, display=self.display, encoding=self.encoding)
                n = len(carry) + new
                self.stats["bytes_read"] += new
                left = None if left is None else left - new
                final = not new or left == 0
                if not n:
                    return
                cut = blocks.cut(buf, n, delim, final)
                if cut is None:  # quotes where the excel dialect puts none: Python finds the records
                    task, used = self._python_now(bytes(buf[:n]), indices, final, counting)
                else:
                    used, task = cut, None
                    if cut:
                        quoted = buf.find(b'"', 0, cut) >= 0
                        work = self._count if counting else self._parse
                        task = slot[1] = pool.submit(work, memoryview(buf)[:cut], indices, quoted)
                if task is not None:
                    yield offset, task
                    if task.done() and task.exception() is not None:
                        return
                if final and used == n:
                    return
                carry, offset = bytes(buf[used:n]), offset + used
                if len(carry) > MAX_RECORD:
                    at = f", line {self._line_at(offset, None)}" if self.seekable else f", byte {offset}"
                    raise ValueError(
                        f"{self.display}{at}: a record longer than {MAX_RECORD >> 20} MB: is a quote left open?"
                    )
                if final:  # what is left cannot be cut: Python reads it
                    yield offset, self._python_now(carry, indices, True, counting)[0]
                    return
        finally:
            stream.close()

    def _python_now(self, data, indices, final, counting):
        """A done future of Python's reading of data's whole records (None if none is whole yet), and their bytes."""
        task = concurrent.futures.Future()
        options = dict(final=final, encoding=self.text_encoding, delimiter=self.delimiter)
        try:
            if counting:
                rows, used, lines = text.count(data, **options)
                values = (np.empty(rows),)
            else:
                found, used, lines = text.values(data, indices, self.names, **options)
                values = tuple(found.T)
        except text.RowError as e:
            task.set_exception(e)
            return task, len(data)
        task.set_result((values, lines, "python"))
        return (task if used else None), used

    def _parse(self, data, indices, quoted):
        """(values, lines, how) of a block of whole records: Arrow's reading when it equals Python's, else Python's."""
        lines = None if self.seekable else blocks.count_lines(data)
        columns = blocks.parse_block(data, indices, len(self.names), self.delimiter, quoted)
        if columns is not None:
            return columns, lines, "arrow"
        values, _, _ = text.values(
            bytes(data), indices, self.names, final=True, encoding=self.text_encoding, delimiter=self.delimiter
        )
        return tuple(values.T), lines, "python"

    def _count(self, data, indices, quoted):
        """(columns as long as the block has rows, lines, how): lines where no row can be blank, else parsed."""
        if not quoted:
            a = np.frombuffer(data, np.uint8)
            starts = np.concatenate(([0], blocks.ends(a, True)))
            starts = starts[starts < len(a)]
            if not np.isin(a[starts], blocks.blank_start(self.delimiter)).any():
                return (np.empty(len(starts)),), None if self.seekable else blocks.count_lines(data), "count"
        rows, _, lines = text.count(bytes(data), final=True, encoding=self.text_encoding, delimiter=self.delimiter)
        return (np.empty(rows),), lines, "python"

    def _result(self, offset, task, line):
        """A block's values, or its error naming the file's line; and the line after the block (if counted)."""
        try:
            values, lines, how = task.result()
        except text.RowError as e:
            at = self._line_at(offset, line) + e.line
            sep = ", " if e.message.startswith("column ") else ": "
            raise ValueError(f"{self.display}, line {at}{sep}{e.message}") from None
        self.stats[f"{how}_blocks"] += 1
        return values, None if line is None or lines is None else line + lines

    def _line_at(self, offset, line):
        """The line number of the record at byte `offset`: counted already, or from the file (errors only)."""
        if line is not None or not self.seekable:
            return line if line is not None else 0
        count, prev_cr = 0, False
        with open(self.path, "rb") as f:
            f.seek(self.start)
            left = offset - self.start
            while left > 0:
                block = f.read(min(left, 16 << 20))
                if not block:
                    break
                count += blocks.count_lines(block) - (prev_cr and block[:1] == b"\n")
                prev_cr, left = block.endswith(b"\r"), left - len(block)
        return self.start_line + count
