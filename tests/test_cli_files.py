"""torch-neuron train/predict on files as users have them: CSV (any line ends, a BOM, Korean Excel's CP949, other
delimiters, standard input) and Parquet, streamed; every file trains or is one error line with status 2."""

import io
import json
import random
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import ROOT, assert_one_error_line, cli, csv_file  # noqa: F401 (fixtures)
from test_csv_reader import base_file, mutate


@pytest.fixture
def book_parquet(tmp_path, bmi):
    x, y = bmi
    path = tmp_path / "book.parquet"
    pq.write_table(
        pa.table({"id": [f"p{i}" for i in range(442)], "bmi": x.numpy(), "target": y.numpy()}), path, row_group_size=100
    )
    return path


def fit(cli, *argv):
    status, out, err = cli("train", "--json", *argv)
    assert status == 0, err
    return json.loads(out)


def same_fit(a, b):
    return (a["w"], a["b"], a["n"], a["x"], a["y"]) == (b["w"], b["b"], b["n"], b["x"], b["y"])


def test_parquet_and_csv_of_the_book_fit_as_the_bundled_data(cli, csv_file, book_parquet):
    bundled = fit(cli)
    by_csv = fit(cli, "--csv", csv_file, "--x", "bmi", "--y", "target")
    by_parquet = fit(cli, "--parquet", book_parquet, "--x", "bmi", "--y", 2)
    assert same_fit(by_csv, by_parquet)
    assert by_parquet["w"] == pytest.approx(bundled["w"], rel=1e-12) and by_parquet["n"] == 442
    shuffled = fit(cli, "--parquet", book_parquet, "--x", "bmi", "--y", "target", "--shuffle", "--seed", "3")
    assert shuffled == {**shuffled, **{k: fit(cli, "--shuffle", "--seed", "3")[k] for k in ("w", "b")}}


@pytest.mark.parametrize("dialect", ["CR only", "CRLF and a BOM", "semicolons", "tabs", "quoted everything"])
def test_the_csvs_people_have_fit_as_the_plain_file(cli, csv_file, tmp_path, dialect):
    """Issue 14: CR-only line ends were a _csv.Error traceback; issue 17: ';' and tab files said 'no column'."""
    text = csv_file.read_text()
    lines = text.splitlines()
    content = {
        "CR only": "\r".join(lines) + "\r",
        "CRLF and a BOM": "\ufeff" + "\r\n".join(lines),
        "semicolons": text.replace(",", ";"),
        "tabs": text.replace(",", "\t"),
        "quoted everything": "\n".join(",".join(f'"{c}"' for c in line.split(",")) for line in lines),
    }[dialect]
    path = tmp_path / "people.csv"
    path.write_bytes(content.encode())
    assert same_fit(
        fit(cli, "--csv", path, "--x", "bmi", "--y", "target"),
        fit(cli, "--csv", csv_file, "--x", "bmi", "--y", "target"),
    )


def test_a_korean_excel_file_needs_its_encoding_and_the_error_says_so(cli, tmp_path):
    path = tmp_path / "korean.csv"
    path.write_bytes("이름,키,몸무게\n김,170,65\n이,160,50\n박,180,80\n".encode("cp949"))
    status, out, err = cli("train", "--csv", path, "--x", "키", "--y", "몸무게", "--epochs", "1", "--lr", "1e-5")
    assert_one_error_line(status, out, err)
    assert "not UTF-8 text" in err and "--encoding cp949" in err
    result = fit(
        cli, "--csv", path, "--encoding", "cp949", "--x", "키", "--y", "몸무게", "--epochs", "1", "--lr", "1e-5"
    )
    assert (result["x"], result["y"], result["n"]) == ("키", "몸무게", 3)


def test_standard_input_is_streamed(cli, csv_file, monkeypatch, tmp_path):
    plain = fit(cli, "--csv", csv_file, "--x", "bmi", "--y", "target")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(csv_file.read_bytes())))
    assert same_fit(fit(cli, "--csv", "-", "--x", "bmi", "--y", "target"), plain)
    done = subprocess.run(
        [sys.executable, "-m", "torch_neuron", "train", "--json", "--csv", "/dev/stdin", "--x", "bmi", "--y", "target"],
        input=csv_file.read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert same_fit(json.loads(done.stdout), plain)


def _bad(tmp_path, content, name="bad.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


ERRORS = {
    "--csv and --parquet": lambda p: [
        "--csv",
        _bad(p, "x,y\n1,2\n"),
        "--parquet",
        p / "d.parquet",
        "--x",
        "x",
        "--y",
        "y",
    ],
    "--encoding for Parquet": lambda p: ["--parquet", p / "d.parquet", "--encoding", "cp949", "--x", "x", "--y", "y"],
    "--delimiter without a file": lambda p: ["--delimiter", ";"],
    "a bad delimiter": lambda p: ["--csv", _bad(p, "x,y\n1,2\n"), "--delimiter", ";;", "--x", "x", "--y", "y"],
    "an unknown encoding": lambda p: ["--csv", _bad(p, "x,y\n1,2\n"), "--encoding", "nope", "--x", "x", "--y", "y"],
    "the wrong delimiter": lambda p: ["--csv", _bad(p, "x;y\n1;2\n"), "--delimiter", ",", "--x", "x", "--y", "y"],
    "one column twice": lambda p: ["--csv", _bad(p, "x,y\n1,2\n"), "--x", "x", "--y", "0"],
    "a duplicate name": lambda p: ["--csv", _bad(p, "x,x,y\n1,2,3\n"), "--x", "x", "--y", "y"],
    "a Parquet null": lambda p: ["--parquet", p / "null.parquet", "--x", "x", "--y", "y"],
    "not Parquet": lambda p: ["--parquet", _bad(p, "x,y\n1,2\n"), "--x", "x", "--y", "y"],
    "missing Parquet": lambda p: ["--parquet", p / "none.parquet", "--x", "x", "--y", "y"],
    "--parquet without columns": lambda p: ["--parquet", p / "d.parquet"],
    "a quote left open": lambda p: ["--csv", _bad(p, 'x,y\n1,"2\n3,4\n'), "--x", "x", "--y", "y"],
}


@pytest.mark.parametrize("case", ERRORS)
def test_every_file_error_is_one_line_and_status_2(cli, tmp_path, case):
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": [1.0, 2.0]}), tmp_path / "d.parquet")
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": [1.0, None]}), tmp_path / "null.parquet")
    assert_one_error_line(*cli("train", *ERRORS[case](tmp_path)))


def test_predict_reads_a_column_of_either_format(cli, tmp_path, csv_file, book_parquet):
    cli("train", "--epochs", "2", "--save", tmp_path / "m.pt", "--quiet")
    by_csv = cli("predict", "--load", tmp_path / "m.pt", "--csv", csv_file, "--x", "bmi")
    by_parquet = cli("predict", "--load", tmp_path / "m.pt", "--parquet", book_parquet, "--x", "1")
    assert by_csv[0] == by_parquet[0] == 0 and by_csv[1] == by_parquet[1] and len(by_csv[1].splitlines()) == 442


def test_a_fuzz_of_mutated_files_each_trains_or_is_one_error_line(cli, tmp_path):
    rng, codes = random.Random(5), []
    for k in range(60):
        path = _bad(tmp_path, mutate(rng, base_file().encode()), f"f{k}.csv")
        status, out, err = cli("train", "--csv", path, "--x", "x", "--y", "y", "--epochs", "2", "--lr", "0.01")
        if status:
            assert_one_error_line(status, out, err)
        codes.append(status)
    assert set(codes) == {0, 2}


def test_how_the_file_was_read_is_said_sniffed_delimiter_included(cli, tmp_path):
    path = _bad(tmp_path, "x;y\n1;2\n2;4\n", "semi.csv")
    status, out, err = cli("train", "--csv", path, "--x", "x", "--y", "y", "--lr", "0.05")
    assert status == 0 and f"file: {path} (csv, ';'-separated (sniffed), utf-8)" in out, out + err
    result = fit(cli, "--csv", path, "--x", "x", "--y", "y", "--lr", "0.05", "--delimiter", ";")
    assert result["file"] == {"path": str(path), "read": "csv, ';'-separated, utf-8"}
