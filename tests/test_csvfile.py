"""csvfile: CSV files of numbers read in chunks by numpy.loadtxt, with Python's csv module naming any fault.

The oracle is Python's csv module and float() on the whole file; chunk sizes of a few bytes force
every line onto a chunk boundary, and byte ranges must split the rows exactly, whatever the number of ranks.
"""
import csv
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from torch_neuron.data.csvfile import CsvFile, Reservoir, Stream, read_csv
from torch_neuron.training.moments import Moments


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def oracle(path, columns):
    """The rows' values by Python's csv module and float(), blank rows skipped: what the reader must return."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    return np.array([[float(r[i]) for i in columns] for r in rows[1:]]).reshape(-1, len(columns))


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
cells = st.one_of(numbers.map(repr), st.integers(-10**6, 10**6).map(str), numbers.map(lambda v: f" {v!r} "),
                  st.floats(-1e300, 1e300).map(lambda v: f"{v:.3e}"))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(cells, cells, st.sampled_from(["a", "b,c", ""])), max_size=30),
       newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(), last_newline=st.booleans(),
       blank=st.sampled_from(["", ",,", " , ,"]), chunk=st.integers(1, 200), world=st.integers(1, 5))
def test_chunks_and_byte_ranges_read_what_pythons_csv_reads(tmp_path_factory, rows, newline, bom, last_newline,
                                                            blank, chunk, world):
    lines = ["x,y,label"] + [f'{a},{b},"{t}"' if "," in t else f"{a},{b},{t}" for a, b, t in rows]
    if rows:
        lines.insert(len(lines) // 2 + 1, blank)  # a blank row in the middle is skipped
    text = newline.join(lines) + (newline if last_newline else "")
    path = write(tmp_path_factory.mktemp("csv"), ("\ufeff" if bom else "") + text)
    table = CsvFile(path)
    assert table.names == ["x", "y", "label"]
    want = oracle(path, [1, 0])
    got = [table.read([1, 0])] + [np.concatenate([np.empty((0, 2))] + list(table.chunks([1, 0], chunk_bytes=chunk)))]
    for g in got:
        assert np.array_equal(g, want)  # bit for bit: both read each number correctly rounded
    ranges = [table.byte_range(r, world) for r in range(world)]
    assert ranges[0][0] == table.start and ranges[-1][1] == table.size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # they tile the data, each at a line start
    parts = [np.concatenate([np.empty((0, 2))] + list(table.chunks([1, 0], lo, hi, chunk))) for lo, hi in ranges]
    assert np.array_equal(np.concatenate(parts), want)
    assert [table.count_rows(lo, hi, chunk) for lo, hi in ranges] == [len(p) for p in parts]


def test_a_plain_file_is_parsed_by_numpy_as_numpy_loadtxt_reads_it(tmp_path):
    g = np.random.default_rng(0)
    values = g.standard_normal((5000, 3)) * [1, 1e-5, 1e8]
    path = write(tmp_path, "a,b,c\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in values.tolist()))
    table = CsvFile(path)
    assert np.array_equal(table.read([2, 0]), np.loadtxt(path, delimiter=",", skiprows=1, usecols=(2, 0)))
    assert np.array_equal(table.read([2, 0]), values[:, [2, 0]])  # repr round-trips float64


def test_read_csv_gives_names_and_float64_tensors(tmp_path):
    path = write(tmp_path, "id,bmi,target\np0,0.5,151\np1,-0.25,75\n")
    names, (x, y) = read_csv(path, ["bmi", "2"])
    assert names == ["bmi", "target"]
    assert x.dtype == torch.float64 and x.tolist() == [0.5, -0.25] and y.tolist() == [151, 75]


ERRORS = {  # file text → words the one-line error must hold (the path comes first, always)
    "a missing cell": ("x,y\n1,2\n3,\n", ["line 3", "column 'y'", "'' is not a finite number"]),
    "text": ("x,y\n1,2\n3,4\nfive,6\n", ["line 4", "column 'x'", "'five'"]),
    "NaN": ("x,y\n1,2\n3,nan\n", ["line 3", "column 'y'", "'nan'"]),
    "inf": ("x,y\n1,2\n-inf,4\n", ["line 3", "column 'x'", "'-inf'"]),
    "too big for float64": ("x,y\n1,1e999\n", ["line 2", "'1e999'"]),
    "a short row": ("x,y\n1,2\n3\n", ["line 3", "1 field, but the header has 2"]),
    "a long row": ("x,y\n1,2\n3,4,5\n", ["line 3", "3 fields, but the header has 2"]),
    "CRLF and a short row": ("x,y\r\n1,2\r\n3\r\n", ["line 3", "1 field"]),
    "a BOM and text": ("\ufeffx,y\n1,2\n3,x\n", ["line 3", "column 'y'"]),
    "not UTF-8": (b"x,y\n1,2\n\xff\xfe,3\n", ["line 3", "not UTF-8"]),
    "numbers for a header": ("1,2\n3,4\n", ["header of column names"]),
    "empty": ("", ["empty"]),
    "only blank lines": ("\n\n", ["empty"]),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_name_the_file_line_and_column(tmp_path, case):
    text, words = ERRORS[case]
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        CsvFile(path).read([0, 1])
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message, message


def test_the_line_number_counts_from_the_file_start_in_a_later_chunk_and_range(tmp_path):
    lines = ["x,y"] + [f"{i},{2 * i}" for i in range(1000)]
    lines[777] = "776,oops"
    path = write(tmp_path, "\n".join(lines) + "\n")
    table = CsvFile(path)
    lo, hi = table.byte_range(1, 2)
    with pytest.raises(ValueError, match=r"line 778, column 'y': 'oops'"):
        list(table.chunks([0, 1], lo, hi, chunk_bytes=100))


def test_a_header_only_file_has_no_rows_and_read_csv_says_so(tmp_path):
    path = write(tmp_path, "x,y\n")
    assert len(CsvFile(path).read([0, 1])) == 0 and CsvFile(path).count_rows() == 0
    with pytest.raises(ValueError, match="no data rows after the header"):
        read_csv(path, ["x", "y"])


def test_columns_by_name_or_index_and_a_clear_error_otherwise(tmp_path):
    table = CsvFile(write(tmp_path, "x, y ,z\n1,2,3\n"))
    assert table.names == ["x", "y", "z"] and table.columns(["y", "0", -1]) == [1, 0, 2]
    with pytest.raises(ValueError, match="no column 'w'"):
        table.columns(["w"])


def test_a_stream_gives_tensor_chunks_their_moments_and_a_bounded_uniform_sample(tmp_path):
    g = np.random.default_rng(1)
    values = g.standard_normal((3000, 2))
    path = write(tmp_path, "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in values.tolist()))
    table = CsvFile(path)
    stream = Stream(table, [0, 1], dtype=torch.float64, device="cpu", sample=100, seed=4)
    pieces = list(stream)
    x, y = (torch.cat(p) for p in zip(*pieces))
    assert torch.equal(x, torch.from_numpy(values[:, 0])) and stream.count == 3000
    whole = Moments.of(x, y)
    assert stream.moments.n == 3000
    for got, want in zip(stream.moments[1:], whole[1:]):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    rows = stream.sample.rows
    assert rows.shape == (100, 3) and len(set(rows[:, 1].tolist())) == 100
    assert set(map(tuple, rows[:, 1:].tolist())) <= set(map(tuple, values.tolist()))  # rows of the file


def test_a_reservoir_is_uniform_whatever_the_chunking(tmp_path):
    """Each of 10 rows lands in a 3-row sample with probability 3/10, whether added at once or one by one."""
    counts, rows = torch.zeros(10), torch.arange(10, dtype=torch.float64)
    for seed in range(2000):
        r, step = Reservoir(3, seed), 1 + seed % 4  # chunks of 1 to 4 rows
        for i in range(0, 10, step):
            r.add(rows[i:i + step], -rows[i:i + step])
        assert torch.equal(r.rows[:, 2], -r.rows[:, 1])  # x and y stay paired
        counts[r.rows[:, 1].long()] += 1
    assert (counts / 2000 - 0.3).abs().max() < 0.04  # ~4 standard errors


def test_an_empty_stream_is_an_error_unless_a_rank_may_hold_none(tmp_path):
    table = CsvFile(write(tmp_path, "x,y\n"))
    with pytest.raises(ValueError, match="no data rows"):
        list(Stream(table, [0, 1], dtype=torch.float64, device="cpu"))
    assert list(Stream(table, [0, 1], dtype=torch.float64, device="cpu", empty_ok=True)) == []


def test_huge_values_parse_exactly_and_subnormals_too(tmp_path):
    values = [1.7976931348623157e308, 5e-324, -2.2250738585072014e-308, 0.1]
    path = write(tmp_path, "x,y\n" + "".join(f"{v!r},{v!r}\n" for v in values))
    got = CsvFile(path).read([0])[:, 0].tolist()
    assert got == values and all(math.isfinite(v) for v in got)
