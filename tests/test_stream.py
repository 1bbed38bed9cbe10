"""stream: files as (x, y) chunks for fit_chunks, their moments and a bounded sample; the fit of a file is the fit
of its rows in memory, whatever the block sizes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_csv_reader import write

import torch_neuron as tn
from torch_neuron.data import csv_chunks, csv_reader
from torch_neuron.data.csv_reader import CsvFile
from torch_neuron.data.stream import Reservoir, Stream, read_column
from torch_neuron.training.moments import Moments


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 400),
    block=st.integers(8, 3000),
    batch_size=st.sampled_from([1, 3, 50]),
    crlf=st.booleans(),
    quoted=st.booleans(),
)
def test_a_csv_file_fits_as_its_rows_in_memory_for_any_block_size(tmp_path_factory, n, block, batch_size, crlf, quoted):
    g = np.random.default_rng(n)
    x = g.random(n) - 0.5
    y = 3 * x - 1 + 0.1 * g.standard_normal(n)
    note = (lambda i: f'"n{i}\nmore"') if quoted else (lambda i: f"n{i}")
    end = "\r\n" if crlf else "\n"
    path = write(
        tmp_path_factory.mktemp("fit"),
        f"x,note,y{end}"
        + "".join(f"{a!r},{note(i)},{b!r}{end}" for i, (a, b) in enumerate(zip(x.tolist(), y.tolist()))),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_reader, "BLOCK_BYTES", block)
        streamed = tn.fit_chunks(csv_chunks(path, "x", "y"), epochs=4, lr=0.5, batch_size=batch_size)
    memory = tn.fit(torch.from_numpy(x), torch.from_numpy(y), epochs=4, lr=0.5, batch_size=batch_size)
    assert torch.allclose(streamed.w, memory.w, rtol=1e-12, atol=0)
    assert torch.allclose(streamed.b, memory.b, rtol=1e-12, atol=0)


def test_a_stream_gives_tensor_chunks_their_moments_and_a_bounded_uniform_sample(tmp_path, monkeypatch):
    g = np.random.default_rng(1)
    values = g.standard_normal((3000, 2))
    path = write(tmp_path, "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in values.tolist()))
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 100)  # a chunk per block
    table = CsvFile(path)
    stream = Stream(table, [0, 1], dtype=torch.float32, sample=100, seed=4, moments=True)
    pieces = list(stream)
    assert len(pieces) > 5 and all(p[0].dtype == torch.float32 for p in pieces)
    x, y = (torch.cat(p) for p in zip(*pieces))
    assert torch.equal(x, torch.from_numpy(values[:, 0]).float()) and stream.count == 3000
    assert stream.count_rows() == 3000 and stream.names == ("x", "y")
    whole = Moments.of(x, y)
    assert stream.moments.n == 3000
    w, b = torch.tensor([0.5, 2.0], dtype=torch.float64), torch.tensor([-1.0, 0.25], dtype=torch.float64)
    assert torch.allclose(stream.moments.loss(w, b), whole.loss(w, b), rtol=1e-9)
    rows = stream.sample.rows
    assert rows.shape == (100, 3) and len(set(rows[:, 1].tolist())) == 100
    assert set(rows[:, 1].tolist()) <= set(values[:, 0].astype(np.float32).tolist())  # rows of the file
    assert len(list(stream)) == len(pieces) and stream.count == 3000  # read again: counted afresh


def test_a_reservoir_is_uniform_whatever_the_chunking():
    """Each of 10 rows lands in a 3-row sample with probability 3/10, whether added at once or one by one."""
    counts, rows = torch.zeros(10), torch.arange(10, dtype=torch.float64)
    for seed in range(2000):
        r, step = Reservoir(3, seed), 1 + seed % 4  # chunks of 1 to 4 rows
        for i in range(0, 10, step):
            r.add(rows[i : i + step], -rows[i : i + step])
        assert torch.equal(r.rows[:, 2], -r.rows[:, 1])  # x and y stay paired
        counts[r.rows[:, 1].long()] += 1
    assert (counts / 2000 - 0.3).abs().max() < 0.04  # ~4 standard errors


def test_an_empty_stream_is_an_error_unless_a_rank_may_hold_none(tmp_path):
    table = CsvFile(write(tmp_path, "x,y\n\n"))
    with pytest.raises(ValueError, match="no data rows"):
        list(Stream(table, [0, 1]))
    assert list(Stream(table, [0, 1], empty_ok=True)) == []


def test_read_column_reads_one_column_of_either_format(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    name, x = read_column(write(tmp_path, "id;bmi\np;0.5\nq;-0.25\n"), "bmi")
    assert name == "bmi" and x.dtype == torch.float64 and x.tolist() == [0.5, -0.25]
    pq.write_table(pa.table({"bmi": [0.5, -0.25]}), tmp_path / "d.parquet")
    assert read_column(tmp_path / "d.parquet", 0, parquet=True)[1].tolist() == [0.5, -0.25]
    with pytest.raises(ValueError, match="no data rows"):
        read_column(write(tmp_path, "bmi\n", "e.csv"), "bmi")
