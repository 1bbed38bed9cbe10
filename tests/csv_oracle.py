"""The specification of the CSV reader, in a few lines of plain Python: the csv module over the whole text.

Rows are csv.reader's (excel dialect) over the decoded text; blank rows (cells of spaces only) and blank
lines are skipped; the first non-blank row is the header; every other row must have the header's
number of fields, and each chosen cell, stripped, must be a finite float(). The first fault is the
line its record begins on. Bytes that do not decode are kept (surrogateescape): only the header and
the chosen cells must be text.
"""

import codecs
import csv
import io
import math

import numpy as np


def oracle(data: bytes, columns, *, encoding="utf-8", delimiter=","):
    """(values (rows, len(columns)) float64, None), or (None, line of the first fault) (0: no line, e.g. empty)."""
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    text = data.decode(encoding, "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, rows = None, []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            return None, start
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            if any(_undecodable(c) or "\x00" in c for c in header) or all(_number(c) is not None for c in header):
                return None, start
            if any(not -len(header) <= c < len(header) for c in columns) or len(
                {c % len(header) for c in columns}
            ) < len(columns):
                return None, 0
            continue
        if len(cells) != len(header):
            return None, start
        values = [_number(cells[c]) for c in columns]
        if any(v is None or not math.isfinite(v) for v in values):
            return None, start
        rows.append(values)
    if header is None:
        return None, 0
    if not rows:
        return np.empty((0, len(columns))), None
    return np.array(rows, dtype=np.float64), None


def _number(cell):
    try:
        return float(cell.strip())
    except ValueError:
        return None


def _undecodable(text):
    return any("\udc80" <= c <= "\udcff" for c in text)
