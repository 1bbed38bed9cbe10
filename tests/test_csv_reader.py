"""csv_reader: CSV files read by Arrow a block at a time, exactly as Python's csv module and float() read them.

The oracle (csv_oracle.py) is the csv module over the whole text. Block sizes of a few bytes put a block
boundary inside every record and every quoted cell; a fuzz of mutated files checks that every file either
reads as the oracle reads it or raises one line naming the oracle's line.
"""

import io
import random
import struct
import sys

import numpy as np
import pytest
from csv_oracle import oracle
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_neuron.data import csv_reader
from torch_neuron.data.csv_reader import CsvFile


def write(folder, content, name="data.csv"):
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read(path, columns=(0, 1), block_bytes=None, **kwargs):
    """Every row's values (rows, len(columns)), through chunks of block_bytes."""
    table = CsvFile(path, **kwargs)
    parts = [np.column_stack(c) for c in table.chunks(list(columns), block_bytes=block_bytes)]
    return np.concatenate(parts) if parts else np.empty((0, len(columns)))


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)  # -0.0 and 0.0 differ here


def assert_reads_as_the_oracle(path, columns, block_bytes, **kwargs):
    want, line = oracle(path.read_bytes(), columns, **kwargs)
    if want is None:
        with pytest.raises(ValueError) as info:
            CsvFile(path, **kwargs).columns(columns, roles=[f"c{c}" for c in columns])
            read(path, columns, block_bytes, **kwargs)
        message = str(info.value)
        assert "\n" not in message and message.startswith(str(path)), message
        if line:
            assert f"line {line}" in message, (message, line)
        return message
    got = read(path, columns, block_bytes, **kwargs)
    assert got.shape == want.shape and np.array_equal(bits(got), bits(want)), (got, want)
    assert CsvFile(path, **kwargs).count_rows(block_bytes=block_bytes) == len(want)
    return None


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
cells = st.one_of(
    numbers.map(repr),
    st.integers(-(10**6), 10**6).map(str),
    numbers.map(lambda v: f" {v!r} "),
    st.floats(-1e300, 1e300).map(lambda v: f"{v:.3e}"),
    numbers.map(lambda v: f'"{v!r}"'),
)
labels = st.text(alphabet='ab,"\n\r ', max_size=6)


def quoted(label):
    return '"' + label.replace('"', '""') + '"' if any(c in label for c in ',"\r\n') else label


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(cells, cells, labels), max_size=25),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
    last_newline=st.booleans(),
    blank=st.sampled_from(["", ",,", " , ,", '"",,']),
    block=st.integers(1, 120),
)
def test_blocks_of_any_size_read_what_pythons_csv_reads(
    tmp_path_factory, rows, newline, bom, last_newline, blank, block
):
    """Quoted cells with commas, quotes and line breaks, CR-only files, blank rows, a BOM: the oracle's rows, bit for
    bit, for any block size (issue 14: a boundary inside quotes added phantom rows; CR-only files were a traceback)."""
    lines = ["x,y,label"] + [f"{a},{b},{quoted(t)}" for a, b, t in rows]
    if rows:
        lines.insert(len(lines) // 2 + 1, blank)
    text = newline.join(lines) + (newline if last_newline else "")
    path = write(tmp_path_factory.mktemp("csv"), ("\ufeff" if bom else "") + text)
    assert CsvFile(path).names == ["x", "y", "label"]
    assert assert_reads_as_the_oracle(path, [1, 0], block) is None
    assert assert_reads_as_the_oracle(path, [0, 1], None) is None


ROWS_IN_A_CELL = "x,y,t\n" + "".join(f'{i},{2 * i},"a\n{i},9,b\n{i},8,c"\n' for i in range(20))


@pytest.mark.parametrize("block", [1, 7, 13, 40, None])
def test_a_cell_whose_lines_look_like_rows_is_one_cell_at_any_cut(tmp_path, block):
    """Issue 14: the NumPy reader read 60, 48 and 29 rows here (blocks of 7, 13, 40 bytes) instead of 20."""
    path = write(tmp_path, ROWS_IN_A_CELL)
    assert len(read(path, block_bytes=block)) == 20
    assert assert_reads_as_the_oracle(path, [0, 1], block) is None


decimals = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", min_size=1, max_size=25),
    st.one_of(st.just(""), st.text("0123456789", max_size=25).map(lambda d: "." + d)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, s, d: f"{e}{s}{d}", st.sampled_from("eE"), st.sampled_from(["", "-", "+"]), st.integers(0, 330)
        ),
    ),
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(decimals, min_size=1, max_size=20))
def test_every_value_is_float_of_its_text_bit_for_bit_through_arrow(tmp_path_factory, texts):
    texts = [t for t in texts if abs(float(t)) < float("inf")]
    path = write(tmp_path_factory.mktemp("num"), "x,y\n" + "".join(f"{t},{t}\n" for t in texts))
    table = CsvFile(path)
    got = np.concatenate([c[0] for c in table.chunks([0, 1])] or [np.empty(0)])
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", float(t)) for t in texts]
    assert table.stats["python_blocks"] == 0  # Arrow read them: the test is of Arrow's parser, not float()


def test_a_plain_file_is_read_by_arrow_alone_in_blocks_of_whole_rows(tmp_path, monkeypatch):
    g = np.random.default_rng(0)
    values = g.standard_normal((20000, 3)) * [1, 1e-5, 1e8]
    path = write(tmp_path, "a,b,c\r\n" + "".join(f"{a!r},{b!r},{c!r}\r\n" for a, b, c in values.tolist()))
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 50_000)  # ~700 rows
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 5000)
    table = CsvFile(path)
    chunks = list(table.chunks([2, 0]))
    assert all(5000 <= len(c[0]) < 6000 for c in chunks[:-1])  # blocks joined into chunks of CHUNK_ROWS
    got = np.column_stack(table.read([2, 0]))
    assert np.array_equal(got, values[:, [2, 0]])  # repr round-trips float64
    assert table.stats["arrow_blocks"] > 10 and table.stats["python_blocks"] == 0


ERRORS = {  # file content → words the one-line error must hold (the path comes first, always)
    "a missing cell": ("x,y\n1,2\n3,\n", ["line 3", "column 'y'", "'' is not a finite number"]),
    "text": ("x,y\n1,2\n3,4\nfive,6\n", ["line 4", "column 'x'", "'five'"]),
    "NaN": ("x,y\n1,2\n3,nan\n", ["line 3", "column 'y'", "'nan'"]),
    "inf": ("x,y\n1,2\n-inf,4\n", ["line 3", "column 'x'", "'-inf'"]),
    "too big for float64": ("x,y\n1,1e999\n", ["line 2", "'1e999'"]),
    "a short row": ("x,y\n1,2\n3\n", ["line 3", "1 field, but the header has 2"]),
    "a long row": ("x,y\n1,2\n3,4,5\n", ["line 3", "3 fields, but the header has 2"]),
    "CRLF and a short row": ("x,y\r\n1,2\r\n3\r\n", ["line 3", "1 field"]),
    "CR only and a bad cell": ("x,y\r1,2\r3,x\r", ["line 3", "column 'y'", "'x'"]),
    "after a cell of three lines": ('x,y,t\n1,2,"a\nb\nc"\n3,?,d\n', ["line 5", "column 'y'", "'?'"]),
    "a BOM and text": ("\ufeffx,y\n1,2\n3,x\n", ["line 3", "column 'y'"]),
    "not UTF-8": (b"x,y\n1,2\n\xff\xfe,3\n", ["line 3", "column 'x'", "not UTF-8 text"]),
    "a CP949 header": ("이름,키\n1,2\n".encode("cp949"), ["line 1", "not UTF-8 text", "--encoding cp949"]),
    "UTF-16 without a mark": ("x,y\n1,2\n".encode("utf-16-le"), ["NUL", "--encoding utf-16-le"]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ["not UTF-8 text", "binary"]),
    "NUL bytes": (bytes(range(256)) * 4, ["NUL bytes", "not a text CSV file"]),
    "numbers for a header": ("1,2\n3,4\n", ["header of column names"]),
    "empty": ("", ["empty"]),
    "only blank lines": ("\n\r\n \n", ["empty"]),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line_naming_the_file_line_and_column(tmp_path, case):
    content, words = ERRORS[case]
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message, message


def test_the_line_number_counts_from_the_file_start_in_a_later_block(tmp_path):
    lines = ["x,y"] + [f"{i},{2 * i}" for i in range(1000)]
    lines[777] = "776,oops"
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 778, column 'y': 'oops' is not a finite number"):
        read(path, block_bytes=100)


@pytest.mark.parametrize(
    "header, words", [("x,x,y", ["2 columns are named 'x'", "by index"]), ("a;b", ["no column 'x'", "';'"])]
)
def test_ambiguous_or_missing_columns_are_refused(tmp_path, header, words):
    table = CsvFile(write(tmp_path, header + "\n1,2,3\n"), delimiter=",")
    with pytest.raises(ValueError) as info:
        table.columns(["x", "y"])
    for word in words:
        assert word in str(info.value)


def test_x_and_y_naming_one_column_is_refused(tmp_path):
    table = CsvFile(write(tmp_path, "a,b\n1,2\n"))
    with pytest.raises(ValueError, match="x and y are both column 'a'"):
        table.columns(["a", "0"])
    assert table.columns(["b", -2]) == [1, 0]


@pytest.mark.parametrize("delimiter, sep", [(None, ";"), (None, "\t"), (None, "|"), (";", ";"), ("\\t", "\t")])
def test_the_delimiter_is_sniffed_from_the_header_or_given(tmp_path, delimiter, sep):
    path = write(tmp_path, f"x{sep}y{sep}note\n1,5{sep}2{sep}a,b\n3{sep}4{sep}c\n".replace("1,5", "1.5"))
    table = CsvFile(path, delimiter=delimiter)
    assert table.delimiter == sep and table.sniffed == (delimiter is None)
    assert np.array_equal(np.column_stack(table.read([0, 1])), [[1.5, 2], [3, 4]])
    assert ("sniffed" in table.describe()) == (delimiter is None)


@pytest.mark.parametrize("bad", ["", ";;", '"', "\n", "é"])
def test_a_delimiter_must_be_one_ascii_character(tmp_path, bad):
    with pytest.raises(ValueError, match="--delimiter"):
        CsvFile(write(tmp_path, "x,y\n1,2\n"), delimiter=bad)


def test_korean_excel_files_read_with_their_encoding(tmp_path):
    content = "이름,키,몸무게\n김,170.5,65\n이,160,50.25\n"
    path = write(tmp_path, content.encode("cp949"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: .*\(try --encoding cp949\)"):
        CsvFile(path)
    table = CsvFile(path, encoding="cp949")
    assert table.names == ["이름", "키", "몸무게"] and table.columns(["키", "몸무게"]) == [1, 2]
    assert np.array_equal(np.column_stack(table.read([1, 2])), [[170.5, 65], [160, 50.25]])
    for encoding in ("utf-16", "utf-8-sig", "utf-32"):  # a byte-order mark says which, unasked
        table = CsvFile(write(tmp_path, content.encode(encoding), f"{encoding}.csv"))
        assert table.names == ["이름", "키", "몸무게"], encoding
        assert np.array_equal(np.column_stack(table.read([1, 2])), [[170.5, 65], [160, 50.25]])
    with pytest.raises(ValueError, match="unknown encoding"):
        CsvFile(path, encoding="klingon")


def test_standard_input_is_streamed_once(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfx;y\r\n1;2\r\n3;4\r\n")))
    table = CsvFile("-")
    assert table.display == "<stdin>" and table.delimiter == ";" and not table.seekable
    assert np.array_equal(np.column_stack(table.read([0, 1])), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="read once"):
        table.read([0, 1])


def test_a_quote_that_never_closes_is_one_line_not_the_whole_file_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_RECORD", 1000)
    path = write(tmp_path, 'x,y,t\n1,2,"open\n' + "3,4,a\n" * 500)
    with pytest.raises(ValueError, match=r"line 2: a record longer than"):
        read(path, block_bytes=64)


def test_huge_values_and_subnormals_parse_exactly(tmp_path):
    values = [1.7976931348623157e308, 5e-324, -2.2250738585072014e-308, 0.1, -0.0]
    got = read(write(tmp_path, "x,y\n" + "".join(f"{v!r},{v!r}\n" for v in values)))
    assert np.array_equal(bits(got[:, 0]), bits(values))


MUTATIONS = [
    "drop a field",
    "double a field",
    "stray quote",
    "junk bytes",
    "binary garbage",
    "truncate",
    "CR only",
    "CRLF",
    "blank row",
    "spaces row",
    "line break in quotes",
    "BOM",
    "duplicate line",
    "NUL",
]


def mutate(rng, content):
    """content with one to three random mutations, as a file's bytes."""
    data = bytearray(content)
    for _ in range(rng.randint(1, 3)):
        kind, at = rng.choice(MUTATIONS), rng.randrange(len(data) + 1)
        lines = bytes(data).split(b"\n")
        i = rng.randrange(len(lines))
        if kind == "drop a field":
            lines[i] = b",".join(lines[i].split(b",")[:-1])
        elif kind == "double a field":
            cells = lines[i].split(b",")
            lines[i] = b",".join(cells + cells[-1:])
        elif kind == "blank row":
            lines.insert(i, rng.choice([b"", b",,", b" ", b'"",,']))
        elif kind == "spaces row":
            lines.insert(i, b" ,\t, ")
        elif kind == "duplicate line":
            lines.insert(i, lines[i])
        if kind in ("drop a field", "double a field", "blank row", "spaces row", "duplicate line"):
            data = bytearray(b"\n".join(lines))
        elif kind == "stray quote":
            data[at:at] = b'"'
        elif kind == "junk bytes":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif kind == "binary garbage":
            data[at : at + rng.randint(1, 40)] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == "truncate":
            del data[at:]
        elif kind == "CR only":
            data = bytearray(bytes(data).replace(b"\n", b"\r"))
        elif kind == "CRLF":
            data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
        elif kind == "line break in quotes":
            data[at:at] = b'"a\nb",'
        elif kind == "BOM":
            data[0:0] = b"\xef\xbb\xbf"
        elif kind == "NUL":
            data[at:at] = b"\x00"
    return bytes(data)


def base_file():
    """The file the fuzz mutates: an id, x, y and a quoted note."""
    return "id,x,y,note\n" + "".join(f'r{i},{i * 0.25!r},{1 - i * 1.5!r},"n{i}"\n' for i in range(12))


def test_a_fuzz_of_mutated_files_reads_as_the_oracle_or_raises_its_line(tmp_path):
    """400 mutated files (dropped and doubled fields, stray quotes, junk and binary bytes, truncation, line ends):
    each reads as the oracle reads it, bit for bit, or raises one ValueError line naming the oracle's line."""
    rng, refused = random.Random(17), 0
    for k in range(400):
        path = write(tmp_path, mutate(rng, base_file().encode()), f"f{k}.csv")
        refused += assert_reads_as_the_oracle(path, [1, 2], rng.choice([None, 1, 7, 30])) is not None
    assert 50 < refused < 350  # the fuzz makes both kinds of file
