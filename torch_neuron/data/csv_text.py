"""The text side of CSV files: encodings, the header, the delimiter, and rows read exactly as Python's csv module does.

Python's csv module (the excel dialect: '"' quotes, '""' inside quotes for one quote) is the reference:
csv_reader.py hands a block to Arrow only when Arrow must read it the same way, and any block Arrow
cannot take, or that holds anything unusual, is read here instead: its rows, or a one-line error naming
the line (the record's first physical line: lines end at LF, CRLF or CR) and the column.
"""

import codecs
import csv
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

DELIMITERS = (",", ";", "\t", "|")  # the ones sniffed from the header, in order of preference on a tie
TERMINATORS = b"\r\n"
_PROBE = '\r\n\t ,;|"+-.0123456789eE'  # what must encode as ASCII for bytes to be split without decoding


class RowError(ValueError):
    """A fault at a line of a block: `line` counts from the block's first line (0), the message says the rest."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class Record(NamedTuple):
    """One record of a block: its first line (from 0), where its bytes end, the line after it, its cells."""

    line: int
    end: int
    next_line: int
    cells: list


def encoding_of(encoding: str | None, head: bytes) -> tuple[str, int]:
    """(codec name, bytes of byte-order mark to skip) for a file that begins with `head`."""
    if encoding is None:
        for bom, name in (
            (codecs.BOM_UTF32_LE, "utf-32"),
            (codecs.BOM_UTF32_BE, "utf-32"),
            (codecs.BOM_UTF8, "utf-8"),
            (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"),
        ):
            if head.startswith(bom):
                return name, len(bom) if name == "utf-8" else 0  # the utf-16/32 codecs read their own mark
        return "utf-8", 0
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} (for example: utf-8, cp949, euc-kr, cp1252, utf-16)") from None
    if name in ("utf-8", "utf-8-sig"):
        return "utf-8", len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    return name, 0


def ascii_compatible(encoding: str) -> bool:
    """Whether delimiters, quotes, digits and line ends are single ASCII bytes (bytes can be split unread)."""
    try:
        return _PROBE.encode(encoding) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def encoding_hint(raw: bytes, encoding: str) -> str:
    """The likely fix for bytes that are not `encoding` text, in words."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "try --encoding utf-16"
    for name in ("utf-8",) if encoding != "utf-8" else ("cp949",):
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if name == "utf-8" or any("\uac00" <= c <= "\ud7a3" for c in text):  # Hangul: what Korean Excel writes
            return f"try --encoding {name}"
    return "give its encoding with --encoding, e.g. cp949 or cp1252"


def not_text(raw: bytes, encoding: str) -> str:
    """'not UTF-8 text: …': the message for undecodable bytes."""
    shown = "UTF-8" if encoding == "utf-8" else encoding
    return f"not {shown} text: a binary file, or text in another encoding ({encoding_hint(raw, encoding)})"


def undecodable(text: str) -> bool:
    """Whether decoding with surrogateescape had to keep raw bytes in `text`."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def complete_lines(data: bytes, final: bool) -> list:
    """data's physical lines with their ends; without the last one unless it surely ended (or final)."""
    lines = data.splitlines(keepends=True)  # bytes split at LF, CRLF and CR only: csv's own line ends
    if lines and not final and not lines[-1].endswith(b"\n"):  # unended, or a CR that an LF may follow
        lines.pop()
    return lines


def records(data: bytes, *, final: bool, encoding: str, delimiter: str) -> Iterator[Record]:
    """The records of `data` (which begins at a record's start) by Python's csv module, in order.

    Stops before a record that may go on past `data` (unless final). A csv.Error is a RowError.
    """
    lines = complete_lines(data, final)
    ends = list(itertools.accumulate(map(len, lines)))
    fed = [0, False]  # lines handed to csv, and whether it asked for more than there are

    def feed() -> Iterator[str]:
        for raw in lines:
            fed[0] += 1
            yield raw.decode(encoding, "surrogateescape")
        fed[1] = True

    reader, start = csv.reader(feed(), delimiter=delimiter, strict=False), 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise RowError(start, f"not CSV as Python's csv module reads it: {e}") from None
        if fed[1] and not final:  # the lines ran out inside this record: it continues in the next block
            return
        yield Record(start, ends[fed[0] - 1] if fed[0] else 0, fed[0], cells)
        start = fed[0]


def blank(cells: Sequence[str]) -> bool:
    """A row with no cell but spaces: skipped, as blank lines are."""
    return not any(c.strip() for c in cells)


def values(
    data: bytes, indices: Sequence[int], names: Sequence[str], *, final: bool, encoding: str, delimiter: str
) -> tuple[np.ndarray, int, int]:
    """(values (rows, len(indices)) float64, bytes used, lines used) of the whole records in `data`, read by Python.

    Every value is float() of its cell: a cell that is not a finite number is a RowError naming the column.
    """
    out, end, used = [], 0, 0
    for rec in records(data, final=final, encoding=encoding, delimiter=delimiter):
        end, used = rec.end, rec.next_line
        if blank(rec.cells):
            continue
        if len(rec.cells) != len(names):
            n = len(rec.cells)
            raise RowError(rec.line, f"{n} field{'s' * (n != 1)}, but the header has {len(names)}")
        out.append([number(rec.cells[j], names[j], rec.line, encoding) for j in indices])
    return np.array(out, dtype=np.float64).reshape(-1, len(indices)), end, used


def count(data: bytes, *, final: bool, encoding: str, delimiter: str) -> tuple[int, int, int]:
    """(rows, bytes used, lines used) of the whole records in data: what values() would read, unchecked."""
    rows = end = used = 0
    for rec in records(data, final=final, encoding=encoding, delimiter=delimiter):
        rows, end, used = rows + (not blank(rec.cells)), rec.end, rec.next_line
    return rows, end, used


def number(cell: str, name: str, line: int, encoding: str) -> float:
    """float() of a cell, finite, or a RowError naming the column."""
    text = cell.strip()
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if math.isfinite(v):
        return v
    if undecodable(text):
        raw = text.encode(encoding, "surrogateescape")
        raise RowError(line, f"column {name!r}: {not_text(raw, encoding)}")
    raise RowError(line, f"column {name!r}: {text!r} is not a finite number")


def sniff(line: str) -> str:
    """The delimiter that splits a header line into the most fields (',' when none splits it)."""
    counts = [len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS]
    best = max(range(len(DELIMITERS)), key=lambda i: (counts[i], -i))
    return DELIMITERS[best] if counts[best] > 1 else ","


def check_delimiter(delimiter: str) -> str:
    """One ASCII character other than a quote or a line end ('\\t' and 'tab' spell a tab)."""
    d = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if len(d) != 1 or not d.isascii() or d in '"\r\n':
        raise ValueError(f"--delimiter must be one ASCII character other than a quote or a line end, got {delimiter!r}")
    return d


def header(data: bytes, *, final: bool, encoding: str, delimiter: str | None) -> tuple | None:
    """(names, bytes used, lines used, delimiter, its first line from 0) of data's first non-blank record; None if it
    may go on past data."""
    lines = complete_lines(data, final)
    if delimiter is None:
        first = next((raw.decode(encoding, "surrogateescape") for raw in lines if raw.strip()), None)
        if first is None:
            return None if not final else ([], len(data), len(lines), ",", 0)
        delimiter = sniff(first.rstrip("\r\n"))
    for rec in records(data, final=final, encoding=encoding, delimiter=delimiter):
        if not blank(rec.cells):
            return [c.strip() for c in rec.cells], rec.end, rec.next_line, delimiter, rec.line
    return ([], len(data), len(lines), delimiter, 0) if final else None


def is_number(cell: str) -> bool:
    """Whether float() reads the cell: a header of numbers is data, not names."""
    try:
        float(cell)
    except ValueError:
        return False
    return True
