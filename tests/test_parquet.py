"""parquet_reader: two numeric columns of a Parquet file, a batch at a time; row groups shared out across ranks.

The spec: the values are the columns' values as float64, whatever the row-group and batch sizes, and the
streamed fit equals the in-memory fit of the same rows; a missing, non-numeric, null or non-finite value is
one line naming the column (and the row).
"""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_neuron as tn
from torch_neuron.data import parquet_chunks
from torch_neuron.data.parquet_reader import ParquetData


def write(folder, columns, name="data.parquet", row_group_size=None):
    path = folder / name
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    group=st.integers(1, 120),
    batch=st.integers(1, 70),
    batch_size=st.sampled_from([1, 7]),
    kind=st.sampled_from(["float64", "float32", "int64", "int16"]),
    world=st.integers(1, 4),
)
def test_any_row_groups_and_batches_give_the_columns_and_the_in_memory_fit(
    tmp_path_factory, n, group, batch, batch_size, kind, world
):
    g = np.random.default_rng(n)
    x = (g.random(n) - 0.5).astype(kind) if kind.startswith("float") else g.integers(-3, 4, n).astype(kind)
    y = 2 * x.astype(np.float64) + 1 + 0.1 * g.standard_normal(n)
    path = write(
        tmp_path_factory.mktemp("pq"), {"note": [f"r{i}" for i in range(n)], "x": x, "y": y}, row_group_size=group
    )
    data = ParquetData(path)
    idx = data.columns(["x", "y"])
    got = [np.column_stack(c) for c in data.chunks(idx, batch_rows=batch)]
    want = np.column_stack((x.astype(np.float64), y))
    assert np.array_equal(np.concatenate(got), want)
    parts = [data.groups(r, world) for r in range(world)]
    assert sum(parts, []) == list(range(len(data.group_rows)))  # every group once, in order
    assert sum(data.count_rows(p) for p in parts) == n
    assert max(data.count_rows(p) for p in parts) <= -(-n // world) + group  # about 1/world of the rows each
    xt, yt = (torch.from_numpy(v.copy()) for v in (want[:, 0], want[:, 1]))
    streamed = tn.fit_chunks(parquet_chunks(path, "x", 2), epochs=5, lr=0.05, batch_size=batch_size)
    memory = tn.fit(xt, yt, epochs=5, lr=0.05, batch_size=batch_size)
    for a, b in ((streamed.w, memory.w), (streamed.b, memory.b)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_decimal_and_dictionary_columns_are_numbers_too(tmp_path):
    import decimal

    path = write(
        tmp_path,
        {
            "x": pa.array([decimal.Decimal("1.25"), decimal.Decimal("-2.5")], pa.decimal128(5, 2)),
            "y": pa.array([3.0, 4.0]).dictionary_encode(),
        },
    )
    data = ParquetData(path)
    assert np.array_equal(np.column_stack(data.read(data.columns(["x", "y"]))), [[1.25, 3.0], [-2.5, 4.0]])


@pytest.mark.parametrize(
    "columns, chosen, words",
    [
        ({"x": [1.0, 2.0], "y": [1.0, 2.0]}, ["x", "z"], ["no column 'z'", "'x', 'y'"]),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0]}, ["x", "5"], ["column index 5 is out of range"]),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0]}, ["x", "0"], ["x and y are both column 'x'"]),
        ({"x": ["a", "b"], "y": [1.0, 2.0]}, ["x", "y"], ["column 'x' holds string, not numbers"]),
        ({"x": [True, False], "y": [1.0, 2.0]}, ["x", "y"], ["column 'x' holds bool, not numbers"]),
        ({"x": [1.0, 2.0, 3.0], "y": [1.0, None, 3.0]}, ["x", "y"], ["column 'y', row 1 (from 0): null"]),
        ({"x": [1.0, float("nan")], "y": [1.0, 2.0]}, ["x", "y"], ["column 'x', row 1 (from 0): nan is not a finite"]),
        ({"x": [1.0, 2.0], "y": [float("-inf"), 2.0]}, ["x", "y"], ["column 'y', row 0 (from 0): -inf"]),
    ],
)
def test_bad_columns_and_values_are_one_line_naming_the_column_and_row(tmp_path, columns, chosen, words):
    path = write(tmp_path, columns, row_group_size=1)
    with pytest.raises(ValueError) as info:
        data = ParquetData(path)
        data.read(data.columns(chosen))
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message, message


def test_a_file_that_is_not_parquet_is_one_line(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="not a Parquet file"):
        ParquetData(path)
    with pytest.raises(FileNotFoundError):
        ParquetData(tmp_path / "missing.parquet")


def test_a_rank_with_no_row_group_holds_an_empty_part(tmp_path):
    data = ParquetData(write(tmp_path, {"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}, row_group_size=2))
    assert [data.groups(r, 3) for r in range(3)] == [[0], [], [1]]
    assert list(data.chunks([0, 1], [])) == []
