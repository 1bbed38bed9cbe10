"""CSV files of numbers, read in chunks of whole lines by NumPy's compiled parser: memory per chunk, not per file.

A file is a header row of column names, then one row per sample; blank rows are skipped, a UTF-8 BOM
and CRLF line ends are accepted. A plain chunk (no quotes, every line with the header's number of
fields) goes to numpy.loadtxt, a C parser since NumPy 1.23. Any other chunk, or one holding a value
that is not finite, is read again by Python's csv module, which returns its values or names the line
and the column at fault. Byte ranges aligned to line starts let each rank parse only its own part.
"""
import csv
import io
import math
import os

import numpy as np
import torch

from ..training.moments import Moments
from .diabetes import feature_index

CHUNK_BYTES = 4 << 20  # ~100,000 rows of two numbers per chunk; the parser's memory is a few times this
_BLANK_START = np.frombuffer(b', \t\r\n"\x0b\x0c', np.uint8)  # a blank row (no cell but spaces) begins so


class CsvFile:
    """A CSV file with a header row: its column names, and the byte offset where its data rows begin."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            self.size = os.fstat(f.fileno()).st_size
            line, row = 0, []
            while not any(cell.strip() for cell in row):  # blank lines before the header are skipped
                raw = f.readline()
                if not raw:
                    raise ValueError(f"{self.path}: the file is empty: a header row and data rows are needed")
                line += 1
                row = next(csv.reader([self._text(raw.removeprefix(b"\xef\xbb\xbf"), line).rstrip("\r\n")]), [])
            self.start, self.header_line = f.tell(), line
        self.names = [cell.strip() for cell in row]
        if all(_is_number(cell) for cell in self.names):
            raise ValueError(f"{self.path}: the first row must be a header of column names, "
                             f"got numbers: {','.join(self.names)}")

    def columns(self, columns):
        """Indices of columns given by header name or index; a clear error for one that is not there."""
        try:
            return [feature_index(c, self.names) for c in columns]
        except ValueError as e:
            raise ValueError(f"{self.path}: {e}") from None

    def byte_range(self, rank, world):
        """Rank `rank` of `world`'s share of the data rows: [start, end) in bytes, each end at a line start."""
        def line_start(p):  # p, or the start of the first line after p
            if p <= self.start or p >= self.size:
                return min(max(p, self.start), self.size)
            with open(self.path, "rb") as f:
                f.seek(p - 1)
                while True:
                    block = f.read(1 << 16)
                    at = block.find(b"\n")
                    if at >= 0 or not block:
                        return f.tell() - len(block) + at + 1 if at >= 0 else self.size
        data = self.size - self.start
        return line_start(self.start + data * rank // world), line_start(self.start + data * (rank + 1) // world)

    def chunks(self, indices, start=None, end=None, chunk_bytes=None):
        """The values of the columns `indices` in the rows of [start, end): float64 arrays (rows, len(indices))."""
        fields = len(self.names)
        for offset, data in self._blocks(start, end, chunk_bytes):
            values = _plain(data, indices, fields)
            yield values if values is not None else self._python(offset, data, indices)

    def count_rows(self, start=None, end=None, chunk_bytes=None):
        """The number of rows `chunks` yields from [start, end), counted without parsing plain chunks."""
        total = 0
        for offset, data in self._blocks(start, end, chunk_bytes):
            arr = np.frombuffer(data, np.uint8)
            starts = np.concatenate(([0], np.flatnonzero(arr[:-1] == 10) + 1))
            if np.isin(arr[starts], _BLANK_START).any():  # maybe a blank row, which is skipped: parse to know
                total += len(self._python(offset, data, [0]))
            else:
                total += len(starts)
        return total

    def read(self, indices, start=None, end=None):
        """The values of the columns `indices` in the rows of [start, end), in memory: (rows, len(indices)) float64."""
        parts = list(self.chunks(indices, start, end))
        return np.concatenate(parts) if parts else np.empty((0, len(indices)))

    def _blocks(self, start, end, chunk_bytes):
        """(offset, bytes) of about chunk_bytes (default CHUNK_BYTES) of whole lines each, from start to end."""
        chunk_bytes = chunk_bytes or CHUNK_BYTES
        start, end = self.start if start is None else start, self.size if end is None else end
        with open(self.path, "rb") as f:
            f.seek(start)
            carry, offset = b"", start
            while offset + len(carry) < end:
                new = f.read(min(chunk_bytes, end - offset - len(carry)))
                if not new:  # the file shrank while being read: take what is there
                    end = offset + len(carry)
                block = carry + new
                cut = block.rfind(b"\n") + 1 if offset + len(block) < end else len(block)
                if cut == 0:  # one line longer than a chunk: read on
                    carry = block
                    continue
                yield offset, block[:cut]
                carry, offset = block[cut:], offset + cut

    def _python(self, offset, data, indices):
        """The chunk read by Python's csv module: its values, or a ValueError naming the line and column."""
        out, fields = [], len(self.names)
        for i, row in enumerate(csv.reader(io.StringIO(self._text(data, None, offset), newline=""))):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != fields:
                raise ValueError(f"{self._where(offset, data, i)}: {len(row)} field{'s' * (len(row) != 1)}, "
                                 f"but the header has {fields}")
            cells = [row[j].strip() for j in indices]
            for j, cell in zip(indices, cells):
                if not _is_number(cell) or not math.isfinite(float(cell)):
                    raise ValueError(f"{self._where(offset, data, i)}, column {self.names[j]!r}: "
                                     f"{cell!r} is not a finite number")
            out.append([float(cell) for cell in cells])
        return np.array(out, dtype=np.float64).reshape(-1, len(indices))

    def _text(self, data, line, offset=None):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = line or self._line(offset + e.start)
            raise ValueError(f"{self.path}, line {line}: not UTF-8 text: this is not a text CSV file") from None

    def _where(self, offset, data, i):
        """'path, line N' of row i of the chunk at offset (rows count lines here: no newline inside a cell)."""
        return f"{self.path}, line {self._line(offset) + i}"

    def _line(self, offset):
        """The line number of the line holding byte `offset` (reads the file up to it: for errors only)."""
        lines = 1
        with open(self.path, "rb") as f:
            while offset > 0:
                block = f.read(min(1 << 20, offset))
                lines, offset = lines + block.count(b"\n"), offset - len(block)
        return lines


def _plain(data, indices, fields):
    """The chunk parsed by numpy.loadtxt when it is plain and every value finite; else None."""
    if b'"' in data:
        return None
    arr = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(arr == 10)
    if len(ends) == 0 or ends[-1] != len(arr) - 1:  # the file's last line may end without a newline
        ends = np.append(ends, len(arr))
    commas = np.flatnonzero(arr == 44)
    # fields − 1 commas on every line: as many in all, the first of each line after the line before ends,
    # the last before its own end (a short, long or blank row goes to Python, which names it)
    if len(commas) != len(ends) * (fields - 1):
        return None
    if fields > 1:
        commas = commas.reshape(len(ends), fields - 1)
        if not ((commas[1:, 0] > ends[:-1]).all() and (commas[:, -1] < ends).all()):
            return None
    try:
        values = np.loadtxt(io.StringIO(data.decode("utf-8")), delimiter=",", usecols=indices, comments=None,
                            dtype=np.float64, ndmin=2)
    except (ValueError, UnicodeDecodeError):
        return None
    return values if np.isfinite(values).all() and len(values) == len(ends) else None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path, columns):
    """(names, values) of the given columns (header names or indices) of a whole CSV file, in memory.

    values: one float64 tensor per column. Any cell that is not a finite number is an error naming its line.
    """
    table = CsvFile(path)
    indices = table.columns(columns)
    values = table.read(indices)
    if not len(values):
        raise ValueError(f"{table.path}: no data rows after the header")
    return [table.names[i] for i in indices], [torch.from_numpy(values[:, k].copy()) for k in range(len(indices))]


class Reservoir:
    """A uniform sample of at most `size` rows of all rows added, kept as rows are added: the rows with the
    smallest random keys (reservoir sampling). rows: (k, 3) [key, x, y], so samples of parts merge alike."""

    def __init__(self, size, seed=0):
        self.size, self.generator = size, torch.Generator().manual_seed(seed)
        self.rows = torch.empty(0, 3, dtype=torch.float64)

    def add(self, x, y):
        keys = torch.rand(len(x), generator=self.generator, dtype=torch.float64)
        rows = torch.cat((self.rows, torch.stack((keys, x.cpu().double(), y.cpu().double()), 1)))
        self.rows = rows[rows[:, 0].topk(min(self.size, len(rows)), largest=False).indices.sort().values]


class Stream:
    """Columns (x, y) of a CSV byte range as chunks of tensors for fit_chunks, read once each time it is iterated.

    On the way it counts the rows, merges their Moments (the loss of any w, b without the data) and
    keeps a Reservoir sample of at most `sample` rows for a picture. No rows at all is an error unless
    empty_ok (one rank's part of a file may hold none).
    """

    def __init__(self, table, indices, start=None, end=None, *, dtype, device, sample=0, seed=0, empty_ok=False):
        self.table, self.indices, self.start, self.end = table, indices, start, end
        self.dtype, self.device, self.empty_ok = dtype, device, empty_ok
        self.count, self.moments, self.sample = 0, None, Reservoir(sample, seed)

    def __iter__(self):
        for values in self.table.chunks(self.indices, self.start, self.end):
            x, y = torch.from_numpy(values.T.copy()).to(device=self.device, dtype=self.dtype)
            self.count += len(values)
            m = Moments.of(x, y)
            self.moments = m if self.moments is None else self.moments.merge(m)
            if self.sample.size:
                self.sample.add(x, y)
            yield x, y
        if not self.count and not self.empty_ok:
            raise ValueError(f"{self.table.path}: no data rows after the header")
