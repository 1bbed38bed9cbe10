"""csv_split: a CSV file's records shared out across ranks by byte ranges, each rank scanning only its own range.

The ranks' reports are exchanged here by a list (in a process group, by one all_gather: test_distributed.py).
The spec: the parts tile the data rows, each begins at a record start, and reading them in rank order gives
exactly the oracle's rows, for any number of ranks, quoted line breaks across every cut included.
"""

import io
import sys

import numpy as np
import pytest
from csv_oracle import oracle
from hypothesis import given, settings
from hypothesis import strategies as st
from test_csv_reader import ROWS_IN_A_CELL, labels, quoted, write

from torch_neuron.data import csv_split
from torch_neuron.data.csv_reader import CsvFile, Part


def parts_of(table, world):
    reports = [csv_split.report(table, r, world) for r in range(world)]
    return [csv_split.assign(table, reports, r) for r in range(world)]


def rows(table, part, columns=(0, 1), block_bytes=None):
    chunks = [np.column_stack(c) for c in table.chunks(list(columns), part, block_bytes=block_bytes)]
    return np.concatenate(chunks) if chunks else np.empty((0, len(columns)))


def assert_split_reads_as_the_oracle(path, world, block_bytes=None, columns=(1, 0)):
    table = CsvFile(path)
    parts = parts_of(table, world)
    assert parts[0].start == table.start and parts[-1].end == table.size
    assert all(a.end == b.start for a, b in zip(parts, parts[1:])) and all(p.start <= p.end for p in parts)
    got = [rows(table, p, columns, block_bytes) for p in parts]
    want, line = oracle(path.read_bytes(), list(columns))
    assert line is None
    assert np.array_equal(np.concatenate(got), want)
    assert [table.count_rows(p, block_bytes=block_bytes) for p in parts] == [len(g) for g in got]
    return parts, got


@settings(max_examples=60, deadline=None)
@given(
    rows_=st.lists(st.tuples(st.integers(-999, 999), st.integers(-999, 999), labels), max_size=30),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    blank=st.sampled_from(["", " , ,"]),
    world=st.integers(1, 6),
    block=st.sampled_from([None, 1, 16]),
)
def test_ranks_parts_tile_the_rows_with_quoted_line_breaks_across_every_cut(
    tmp_path_factory, rows_, newline, blank, world, block
):
    """Issue 14: per-rank byte ranges cut inside quotes made phantom rows. Now every cut is a record start."""
    lines = ["x,y,label"] + [f"{a},{b},{quoted(t)}" for a, b, t in rows_]
    if rows_:
        lines.insert(len(lines) // 2 + 1, blank)
    path = write(tmp_path_factory.mktemp("split"), newline.join(lines) + newline)
    assert_split_reads_as_the_oracle(path, world, block)


def test_a_cell_of_many_lines_across_the_cut_goes_to_the_rank_where_it_begins(tmp_path):
    long = '"' + "\n".join(f"{i},{i}" for i in range(200)) + '"'  # looks like 200 rows, is one cell
    path = write(tmp_path, f"x,y,t\n1,2,a\n3,4,{long}\n5,6,b\n")
    parts, got = assert_split_reads_as_the_oracle(path, 2)
    assert [len(g) for g in got] == [2, 1]  # the cell's record is rank 0's; rank 1 begins after it


@pytest.mark.parametrize("world", [2, 3, 5])
def test_a_cell_whose_lines_look_like_rows_stays_one_cell_across_ranks(tmp_path, world):
    """Issue 14: the NumPy reader's byte ranges gave 22 rows instead of 20 here under 3 ranks."""
    parts, got = assert_split_reads_as_the_oracle(write(tmp_path, ROWS_IN_A_CELL), world, columns=(0, 1))
    assert sum(len(g) for g in got) == 20


def test_each_rank_scans_only_its_own_range(tmp_path):
    path = write(tmp_path, "x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(50_000)))
    table = CsvFile(path)
    world, data = 4, table.size - table.start
    for r in range(world):
        t = CsvFile(path)
        csv_split.report(t, r, world)
        assert t.stats["bytes_scanned"] <= data // world + 2 + 2 * (data // csv_split.SCAN_BYTES + 1)
        part = parts_of(t, world)[r]
        rows(t, part)
        assert abs(t.stats["bytes_read"] - data / world) < 40  # its own bytes, to the record boundary


def test_a_stray_quote_makes_rank_0_read_the_file_and_the_others_nothing(tmp_path):
    path = write(tmp_path, 'name,x,y\nO"Brien,1,2\n' + "".join(f"n{i},{i},{i}\n" for i in range(100)))
    parts, got = assert_split_reads_as_the_oracle(path, 3, columns=(1, 2))
    assert parts[1].start == parts[1].end == parts[2].start == parts[2].end == CsvFile(path).size
    assert [len(g) for g in got] == [101, 0, 0]


def test_a_file_that_cannot_be_split_unread_goes_to_rank_0(tmp_path, monkeypatch):
    path = write(tmp_path, "x\ty\r\n1\t2\r\n3\t4\r\n".encode("utf-16"))
    table = CsvFile(path)
    assert not table.seekable
    parts = parts_of(table, 2)
    assert np.array_equal(rows(table, parts[0]), [[1, 2], [3, 4]]) and len(rows(table, parts[1])) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x,y\n1,2\n")))
    with pytest.raises(ValueError, match="standard input cannot be shared out"):
        csv_split.report(CsvFile("-"), 0, 2)


def test_more_ranks_than_rows_leave_some_empty(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,4\n")
    parts, got = assert_split_reads_as_the_oracle(path, 7)
    assert sum(len(g) for g in got) == 2 and sum(p.start == p.end for p in parts) >= 5
    assert Part(5, 5).start == 5
