"""The torch-neuron command as a user runs it: train, check, predict; every error is one line and exit status 2.

A few tests start a real process (python -m torch_neuron, scripts/*.py); the rest call main(argv)
in this process, which exits the same way (SystemExit with the status) and is ~1 s cheaper per run.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import reference as ref
import torch

import torch_neuron as tn
import torch_neuron.functional as F
from torch_neuron.cli import main
from torch_neuron.cli import train as train_run
from torch_neuron.cli.modelfile import save
from torch_neuron.data import csv_reader

ROOT = Path(__file__).resolve().parents[1]
TRAIN_KEYS = {"w", "b", "loss", "device", "dtype", "epochs", "engine", "seconds", "n"}


def run_process(*argv, cwd, script=None):
    """Run the command in a fresh Python, as a user would → (status, stdout, stderr)."""
    command = [sys.executable, str(ROOT / "scripts" / script)] if script else [sys.executable, "-m", "torch_neuron"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        command + [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def cli(capsys):
    """cli(*argv) → (status, stdout, stderr) of main(argv) run in this process."""

    def run(*argv):
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return run


@pytest.fixture(scope="module")
def book(bmi, python_loop):
    """The book's result from its own code in plain Python: w, b after 100 epochs."""
    x, y = bmi
    return python_loop(x.tolist(), y.tolist(), 100)


@pytest.fixture
def csv_file(tmp_path, bmi):
    """The book's data as a CSV with an extra text column: id,bmi,target."""
    x, y = bmi
    rows = ["id,bmi,target"] + [f"p{i},{a!r},{b!r}" for i, (a, b) in enumerate(zip(x.tolist(), y.tolist()))]
    path = tmp_path / "book.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def value(out, key):
    """The number printed as 'key = value'."""
    return float(re.search(rf"^{key} = (\S+)$", out, re.M)[1])


def assert_one_error_line(status, out, err):
    assert status == 2, (status, err)
    assert err.startswith("torch-neuron: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""


# --- real processes --------------------------------------------------------------------------------------------


def test_train_prints_the_books_numbers_and_saves_a_model_predict_reads(tmp_path):
    """train (defaults: bmi, 100 epochs, lr 1, float64) → the book's w and b; predict --load uses them."""
    status, out, err = run_process("train", "--save", "model.pt", cwd=tmp_path)
    assert status == 0, err
    w, b = value(out, "w"), value(out, "b")
    assert w == pytest.approx(ref.W_100, rel=1e-13) and b == pytest.approx(ref.B_100, rel=1e-13)
    for word in ("loss", "device: ", "float64", "scan", "time"):
        assert word in out
    status, out, err = run_process("predict", "--load", "model.pt", "--values", "0.18", "-0.05", cwd=tmp_path)
    assert status == 0, err
    assert [float(v) for v in out.split()] == [0.18 * w + b, -0.05 * w + b]
    assert float(out.split()[0]) == pytest.approx(ref.PREDICT_018, rel=1e-13)


def test_check_passes_in_a_real_process(tmp_path):
    status, out, err = run_process("check", "--device", "cpu", cwd=tmp_path)
    assert status == 0, out + err
    assert "FAIL" not in out and out.count("PASS") >= 9
    assert "max abs err" in out and "tolerance" in out


@pytest.mark.parametrize(
    "argv",
    [["train", "--device", "cuda:7"], ["train", "--lr", "1e6"], ["predict", "--load", "missing.pt", "--values", "1"]],
)
def test_an_error_in_a_real_process_is_one_line_without_traceback(tmp_path, argv):
    assert_one_error_line(*run_process(*argv, cwd=tmp_path))


def test_the_scripts_run_the_subcommands(tmp_path):
    status, out, err = run_process("--help", cwd=tmp_path, script="train.py")
    assert status == 0 and out.startswith("usage: torch-neuron train"), err


# --- in process ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], ["train", "check", "predict"]),
        (
            ["train"],
            [
                "--csv",
                "--epochs",
                "(default: 100)",
                "(default: 1.0)",
                "(default: bmi)",
                "(default: auto)",
                "(default: float64)",
                "--plot",
                "--save",
                "--json",
                "--quiet",
                "--engine",
                "--batch-size",
            ],
        ),
        (["check"], ["--device", "--dtype", "--json"]),
        (["predict"], ["--load", "--values", "--x", "--csv"]),
    ],
)
def test_help_of_each_subcommand(cli, argv, words):
    status, out, err = cli(*argv, "--help")
    assert status == 0 and out.startswith(f"usage: {' '.join(['torch-neuron'] + argv)}")
    for word in words:
        assert word in out


def test_train_json_is_one_object_with_the_run(cli):
    status, out, err = cli("train", "--json", "--epochs", "1")
    assert status == 0 and err == ""
    result = json.loads(out)
    assert TRAIN_KEYS <= result.keys()
    assert (result["epochs"], result["n"], result["dtype"], result["engine"]) == (1, 442, "float64", "scan")
    assert result["w"] == pytest.approx(ref.W_1, rel=1e-13)
    assert result["seconds"] >= 0 and result["loss"] > 0


def test_the_loop_engine_gives_the_books_bits_and_a_progress_bar(cli, book):
    """--engine loop runs the book's loop: the same float64 bits; a ~1 s run shows a progress bar on stderr."""
    status, out, err = cli("train", "--engine", "loop", "--device", "cpu")
    assert status == 0
    assert (value(out, "w"), value(out, "b")) == book
    try:
        import tqdm  # noqa: F401
    except ImportError:
        assert err == ""  # the bar is optional: without tqdm, nothing
    else:
        assert "epoch" in err  # tqdm's bar


def test_quiet_prints_nothing_and_still_saves(cli, tmp_path):
    status, out, err = cli(
        "train", "--engine", "loop", "--epochs", "50", "--device", "cpu", "--quiet", "--save", tmp_path / "m.pt"
    )
    assert (status, out, err) == (0, "", "")
    assert (tmp_path / "m.pt").stat().st_size > 0


def test_the_final_loss_is_the_mean_half_squared_error(cli, bmi):
    x, y = bmi
    result = json.loads(cli("train", "--json")[1])
    expected = sum(0.5 * (t - (result["w"] * s + result["b"])) ** 2 for s, t in zip(x.tolist(), y.tolist())) / len(x)
    assert result["loss"] == pytest.approx(expected, rel=1e-12)


def test_train_on_csv_by_name_and_by_index_equals_the_bundled_data(cli, csv_file):
    bundled = json.loads(cli("train", "--json")[1])
    by_name = json.loads(cli("train", "--json", "--csv", csv_file, "--x", "bmi", "--y", "target")[1])
    by_index = json.loads(cli("train", "--json", "--csv", csv_file, "--x", "1", "--y", "2")[1])
    assert (by_name["w"], by_name["b"]) == (by_index["w"], by_index["b"]) == (bundled["w"], bundled["b"])
    assert (by_name["x"], by_name["y"], by_name["n"]) == ("bmi", "target", 442)


def test_train_options_reach_the_fit(cli):
    result = json.loads(
        cli(
            "train",
            "--json",
            "--feature",
            "bp",
            "--epochs",
            "3",
            "--lr",
            "0.5",
            "--batch-size",
            "10",
            "--shuffle",
            "--seed",
            "4",
            "--dtype",
            "float32",
            "--device",
            "cpu",
        )[1]
    )
    assert (result["x"], result["epochs"], result["lr"], result["batch_size"]) == ("bp", 3, 0.5, 10)
    assert (result["shuffle"], result["seed"], result["dtype"], result["device"]) == (True, 4, "float32", "cpu")
    assert torch.tensor(result["w"], dtype=torch.float32).item() == result["w"]  # w was computed in float32


def test_predict_reads_a_csv_column_and_prints_json(cli, tmp_path, csv_file):
    cli("train", "--epochs", "2", "--save", tmp_path / "m.pt", "--quiet")
    status, out, err = cli("predict", "--load", tmp_path / "m.pt", "--csv", csv_file, "--x", "bmi")
    assert status == 0 and len(out.splitlines()) == 442
    result = json.loads(cli("predict", "--load", tmp_path / "m.pt", "--values", "0.1", "0.2", "--json")[1])
    assert result["predictions"] == [0.1 * result["w"] + result["b"], 0.2 * result["w"] + result["b"]]


def test_check_json_and_the_exit_status_of_a_failing_check(cli, monkeypatch):
    status, out, _ = cli("check", "--json", "--dtype", "float32", "--device", "cpu")
    result = json.loads(out)
    assert status == 0 and result["passed"] and result["dtype"] == "float32"
    assert all({"name", "max_abs_err", "max_rel_err", "tolerance", "passed"} <= c.keys() for c in result["checks"])
    monkeypatch.setattr(F, "backprop", lambda x, err: (2 * x * err, 1 * err))
    status, out, _ = cli("check", "--device", "cpu")
    assert status == 1 and "FAIL" in out


def test_plot_writes_a_png(cli, tmp_path):
    pytest.importorskip("torch_neuron.plot")
    pytest.importorskip("matplotlib")
    status, out, err = cli("train", "--epochs", "5", "--plot", tmp_path / "fit.png")
    assert status == 0, err
    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


def _model(tmp_path):
    path = tmp_path / "m.pt"
    save(tn.Neuron(), path)
    return path


ERRORS = {
    "missing device": lambda p: ["train", "--device", "cuda:7"],
    "no such device": lambda p: ["train", "--device", "gpu"],
    "missing csv": lambda p: ["train", "--csv", p / "nope.csv", "--x", "a", "--y", "b"],
    "a text cell": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,2\n3,x\n"), "--x", "a", "--y", "b"],
    "no header": lambda p: ["train", "--csv", _bad_csv(p, "1,2\n3,4\n"), "--x", "0", "--y", "1"],
    "a short row": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,2\n3\n"), "--x", "a", "--y", "b"],
    "an empty csv": lambda p: ["train", "--csv", _bad_csv(p, ""), "--x", "a", "--y", "b"],
    "bad column name": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,2\n"), "--x", "a", "--y", "zz"],
    "bad column index": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,2\n"), "--x", "5", "--y", "1"],
    "csv without columns": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,2\n")],
    "bad feature": lambda p: ["train", "--feature", "height"],
    "negative epochs": lambda p: ["train", "--epochs", "-1"],
    "lr 0": lambda p: ["train", "--lr", "0"],
    "lr nan": lambda p: ["train", "--lr", "nan"],
    "divergence": lambda p: ["train", "--lr", "1e6"],
    "batch size 0": lambda p: ["train", "--batch-size", "0"],
    "unknown engine": lambda p: ["train", "--engine", "fast"],
    "epochs not a number": lambda p: ["train", "--epochs", "ten"],
    "save into a missing folder": lambda p: ["train", "--epochs", "1", "--save", p / "no" / "m.pt"],
    "bad model file": lambda p: ["predict", "--load", _bad_csv(p, "w,b\n1,2\n"), "--values", "1"],
    "missing model file": lambda p: ["predict", "--load", p / "none.pt", "--values", "1"],
    "x not a number": lambda p: ["predict", "--load", _model(p), "--values", "one"],
    "x, a column, without a file": lambda p: ["predict", "--load", _model(p), "--x", "bmi"],
    "neither values nor a file": lambda p: ["predict", "--load", _model(p)],
    "x not finite": lambda p: ["predict", "--load", _model(p), "--values", "inf"],
    "no subcommand": lambda p: [],
    "a header-only csv": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n"), "--x", "a", "--y", "b"],
    "a csv not in UTF-8": lambda p: ["train", "--csv", _bad_csv(p, "a,b\n1,\xff\n"), "--x", "a", "--y", "b"],
    "a bad cell, shuffled": lambda p: [
        "train",
        "--csv",
        _bad_csv(p, "a,b\n1,2\n3,-\n"),
        "--x",
        "a",
        "--y",
        "b",
        "--shuffle",
    ],
    "divergence, streamed": lambda p: [
        "train",
        "--csv",
        _bad_csv(p, "a,b\n1,2\n3,4\n"),
        "--x",
        "a",
        "--y",
        "b",
        "--lr",
        "1e6",
    ],
    "a missing extra": lambda p: ["train", "--plot", p / "fit.png", "--epochs", "1"],
}


@pytest.mark.parametrize("case", ERRORS)
def test_every_error_is_one_line_and_status_2(cli, tmp_path, case, monkeypatch):
    def missing(*args, **kwargs):  # what the plot module raises without matplotlib
        raise ImportError("plotting needs matplotlib: pip install 'torch_neuron[plot]'")

    monkeypatch.setattr("torch_neuron.plot.plot_fit", missing)
    assert_one_error_line(*cli(*ERRORS[case](tmp_path)))


@pytest.mark.parametrize(
    "error",
    [
        TypeError("unsupported operand"),
        ImportError("cannot import name 'x'"),
        KeyError("w"),
        RuntimeError("shape mismatch"),
    ],
)
def test_a_bug_shows_its_traceback_not_a_one_line_error(csv_file, monkeypatch, error):
    """Only what input can cause is a one-line error; a programming error propagates with its traceback."""

    def bug(*args, **kwargs):
        raise error

    monkeypatch.setattr(tn, "fit_chunks", bug)
    with pytest.raises(type(error)):
        main(["train", "--csv", str(csv_file), "--x", "bmi", "--y", "target"])


def test_a_csv_is_streamed_in_chunks_and_fits_as_the_data_in_memory(cli, csv_file, monkeypatch):
    """--csv goes through fit_chunks in chunks (here ~600 bytes, so batches straddle chunks): the same w, b and
    loss as the bundled data in memory, within 1e-12, for batch sizes 1 and 10."""
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 600)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 1)  # a chunk per block: batches straddle chunks
    for m in ("1", "10"):
        bundled = json.loads(cli("train", "--json", "--batch-size", m)[1])
        streamed = json.loads(
            cli("train", "--json", "--batch-size", m, "--csv", csv_file, "--x", "bmi", "--y", "target")[1]
        )
        for key in ("w", "b", "loss"):
            assert streamed[key] == pytest.approx(bundled[key], rel=1e-12)
        assert streamed["n"] == 442


def test_a_bom_and_crlf_line_ends_read_as_the_plain_file(cli, csv_file, tmp_path):
    plain = json.loads(cli("train", "--json", "--csv", csv_file, "--x", "bmi", "--y", "target")[1])
    windows = tmp_path / "excel.csv"
    windows.write_bytes(b"\xef\xbb\xbf" + csv_file.read_bytes().replace(b"\n", b"\r\n"))
    excel = json.loads(cli("train", "--json", "--csv", windows, "--x", "bmi", "--y", "target")[1])
    assert (excel["w"], excel["b"], excel["x"], excel["n"]) == (plain["w"], plain["b"], "bmi", 442)


def test_shuffle_on_a_csv_reads_it_into_memory_and_equals_the_bundled_shuffle(cli, csv_file):
    argv = ["--json", "--shuffle", "--seed", "2", "--batch-size", "3"]
    bundled = json.loads(cli("train", *argv)[1])
    read = json.loads(cli("train", *argv, "--csv", csv_file, "--x", "bmi", "--y", "target")[1])
    assert (read["w"], read["b"], read["loss"]) == (bundled["w"], bundled["b"], bundled["loss"])


def test_plot_of_a_streamed_csv_draws_a_bounded_sample_and_the_exact_loss_curve(
    cli, csv_file, tmp_path, bmi, monkeypatch
):
    import torch_neuron.plot as plot

    pytest.importorskip("matplotlib")
    drawn, real = {}, plot.plot_fit

    def spy(path, x, y, history, **kwargs):
        drawn.update(x=x, y=y, history=history)
        return real(path, x, y, history, **kwargs)

    monkeypatch.setattr(plot, "plot_fit", spy)
    monkeypatch.setattr(train_run, "PLOT_POINTS", 50)
    status, _, err = cli(
        "train", "--csv", csv_file, "--x", "bmi", "--y", "target", "--epochs", "7", "--plot", tmp_path / "fit.png"
    )
    assert status == 0, err
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    x, y = bmi
    rows = set(zip(x.tolist(), y.tolist()))
    assert len(drawn["x"]) == 50 and set(zip(drawn["x"].tolist(), drawn["y"].tolist())) <= rows
    h = drawn["history"]
    assert h.loss.shape == (7,)
    assert torch.allclose(h.loss, tn.epoch_losses(x, y, h.w, h.b), rtol=1e-12, atol=0)  # all 442 rows, not the 50


def test_error_messages_name_the_problem(cli, tmp_path):
    _, _, err = cli("train", "--csv", _bad_csv(tmp_path, "a,b\n1,2\n3,x\n"), "--x", "a", "--y", "b")
    assert "line 3" in err and "'b'" in err and "'x'" in err
    _, _, err = cli("train", "--lr", "1e6")
    assert "diverged" in err
    _, _, err = cli("train", "--device", "cuda:7")
    assert "available" in err and "cpu" in err


# ---- a command does all it was asked, or writes nothing ---------------------------------------------------


def test_a_bad_output_path_stops_train_before_the_fit_and_writes_nothing(cli, tmp_path):
    status, out, err = cli("train", "--save", tmp_path / "m.pt", "--plot", tmp_path / "missing" / "p.png")
    assert status == 2 and out == "" and "does not exist" in err and "--plot" in err
    assert list(tmp_path.iterdir()) == [], "m.pt was written although the command failed"


def test_a_failure_while_writing_leaves_no_file_behind(cli, tmp_path, monkeypatch):
    def broken(*args, **kwargs):  # the picture fails after the model file was written
        raise ValueError("the picture could not be drawn")

    monkeypatch.setattr("torch_neuron.plot.plot_fit", broken)
    status, _, err = cli("train", "--save", tmp_path / "m.pt", "--plot", tmp_path / "p.png")
    assert status == 2 and "could not be drawn" in err
    assert list(tmp_path.iterdir()) == [], "a file (or a temporary one) was left behind"


@pytest.mark.parametrize("lang, words", [("en", "training diverged at lr=2"), ("ko", "학습이 발산했습니다(lr=2)")])
def test_doubling_the_books_lr_is_a_one_line_divergence_in_the_users_language_and_no_picture(
    cli, tmp_path, lang, words
):
    """lr = 2 grows without bound (w = -1.5e46 after 100 epochs, not yet inf): an error, not a result."""
    status, out, err = cli("train", "--lr", 2, "--lang", lang, "--save", tmp_path / "m.pt")
    assert status == 2 and out == "" and len(err.splitlines()) == 1
    assert words in err and "epoch" in err.lower() or "에포크" in err
    assert list(tmp_path.iterdir()) == []


def test_lang_ko_prints_the_run_in_korean(cli):
    status, out, _ = cli("train", "--lang", "ko", "--epochs", 3)
    assert status == 0 and "데이터: x = bmi, y = target, n = 442" in out and "에포크: 3" in out
