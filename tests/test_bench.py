"""scripts/bench.py: its ratio and target logic on synthetic rows, its peers set up as the book's fit, and (slow)
a whole `--quick` run."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from reference import B_100, W_100

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
_spec = importlib.util.spec_from_file_location("bench", SCRIPT)
bench = sys.modules["bench"] = importlib.util.module_from_spec(_spec)  # dataclasses look their module up
_spec.loader.exec_module(bench)
STATUSES = {"MET", "NOT MET", "NOT MEASURED"}


def at_least(value, goal=10):
    """A verdict on a ratio target whose case ran `value` times faster than its baseline."""
    t = bench.Target("t", "w/case@cpu", "w/base@cpu", at_least=goal)
    return bench.verdict(t, {"w/base@cpu": value * 0.5, "w/case@cpu": 0.5})  # exact in binary


def test_speedup_is_the_baselines_time_over_the_cases():
    times = {"a": 3.0, "b": 0.5, "failed": None}
    assert bench.speedup(times, "a", "b") == pytest.approx(6.0)
    assert bench.speedup(times, "b", "a") == pytest.approx(1 / 6)
    assert bench.speedup(times, "a", "failed") is None and bench.speedup(times, "missing", "b") is None


@pytest.mark.parametrize("value, status", [(25.0, "MET"), (10.0, "MET"), (9.99, "NOT MET"), (0.5, "NOT MET")])
def test_a_ratio_target_is_met_at_or_above_its_goal(value, status):
    v = at_least(value)
    assert v["status"] == status  # exact: "NOT MET".endswith("MET") would pass a sloppy check
    assert v["value"] == pytest.approx(value) and v["goal"] == "≥ 10×"


@pytest.mark.parametrize("seconds, status", [(0.004, "MET"), (0.010, "MET"), (0.0101, "NOT MET")])
def test_a_time_target_is_met_at_or_below_its_limit(seconds, status):
    t = bench.Target("t", "w/case@cpu", at_most=0.010)
    v = bench.verdict(t, {"w/case@cpu": seconds})
    assert v["status"] == status and v["value"] == seconds


def test_a_target_without_both_times_is_not_measured():
    t = bench.Target("t", "w/case@cpu", "w/base@cpu", at_least=2)
    for times in ({}, {"w/base@cpu": 1.0}, {"w/base@cpu": 1.0, "w/case@cpu": None}):
        v = bench.verdict(t, times)
        assert v["status"] == "NOT MEASURED" and v["value"] is None
    assert bench.verdict(bench.Target("t", "x@cpu", at_most=1), {})["status"] == "NOT MEASURED"


@pytest.mark.parametrize(
    "kw", [dict(), dict(at_least=2), dict(at_most=1, baseline="b"), dict(at_least=2, at_most=1, baseline="b")]
)
def test_a_target_needs_a_baseline_with_at_least_or_at_most_alone(kw):
    with pytest.raises(ValueError, match="target 'bad'"):
        bench.Target("bad", "c", **kw)


def test_every_cpu_target_names_cases_the_benchmark_times():
    ids = [c.id for c in bench.cases(bench.QUICK, ["cpu"])]
    assert len(ids) == len(set(ids))
    cpu = [t for t in bench.TARGETS if t.case.endswith("@cpu")]
    assert len(cpu) == 7
    for t in cpu:
        assert t.case in ids and (t.baseline is None or t.baseline in ids), t


@pytest.mark.cuda
def test_every_cuda_target_names_cases_the_benchmark_times():
    ids = [c.id for c in bench.cases(bench.QUICK, ["cpu", "cuda"])]
    ids += [r.id for r in bench.peak_row("NVIDIA H100 80GB HBM3", 1)]
    for t in bench.TARGETS:
        assert t.case in ids and (t.baseline is None or t.baseline in ids), t


def test_the_ratio_columns_compare_whole_fits_of_the_same_workload():
    rows = [
        bench.Row("w/python@cpu", "w", "python", "cpu", median_s=0.030),
        bench.Row("w/sklearn@cpu", "w", "sklearn", "cpu", median_s=0.012),
        bench.Row("w/fit@cpu", "w", "fit", "cpu", median_s=0.003),
        bench.Row("w/map@cpu", "w", "map", "cpu", whole=False, median_s=0.001),
        bench.Row("v/fit@cpu", "v", "other", "cpu", median_s=0.001),
    ]
    lines = bench.table(rows, {r.id: r.median_s for r in rows})[2:]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines]
    assert cells[2][5:7] == ["10×", "4×"]  # 30 ms / 3 ms, 12 ms / 3 ms
    assert cells[3][5:7] == ["—", "—"]  # a part of the workload is not compared
    assert cells[4][5:7] == ["—", "—"]  # no baselines on its workload


def test_run_scales_the_median_of_a_fraction_up_to_the_whole():
    row = bench.run(
        bench.Case("w", "nap", "sleeps 2 ms", lambda: time.sleep(0.002), **bench.part(1, 10, "fits")), min_run_time=0.05
    )
    assert row.error is None and row.calls >= 1 and row.note == "1 of 10 fits, scaled ×10"
    assert 0.019 < row.median_s < 0.2  # ≥ 10 × 2 ms: the sleep is a floor, the load only adds
    assert row.result is None


def test_run_keeps_the_result_of_whole_fits_only():
    pair = lambda: (torch.tensor(2.0, requires_grad=True), 3)  # noqa: E731
    assert bench.run(bench.Case("w", "a", "a", pair), 0.01).result == [2.0, 3.0]
    assert bench.run(bench.Case("w", "b", "b", pair, scale=2.0), 0.01).result is None


def test_a_failing_case_becomes_an_error_row_and_its_target_is_not_measured():
    def diverge():
        raise FloatingPointError("training diverged at epoch 3")

    row = bench.run(bench.Case("w", "bad", "diverges", diverge), 0.01)
    assert row.median_s is None and row.error == "FloatingPointError: training diverged at epoch 3"
    t = bench.Target("t", "w/bad@cpu", "w/ok@cpu", at_least=1)
    assert bench.verdict(t, {"w/ok@cpu": 1.0, row.id: row.median_s})["status"] == "NOT MEASURED"


@pytest.mark.parametrize(
    "name, gbps",
    [
        ("NVIDIA H100 80GB HBM3", 3350),
        ("NVIDIA H100 PCIe", 2000),
        ("NVIDIA H200", 4800),
        ("NVIDIA A100-SXM4-40GB", 1555),
        ("NVIDIA A10", 600),
        ("NVIDIA L4", 300),
        ("NVIDIA L40S", 864),
    ],
)
def test_peak_bandwidth_comes_from_the_cards_name(name, gbps):
    (row,) = bench.peak_row(name, 8e9)
    assert row.gbps == gbps and row.median_s == pytest.approx(8 / gbps) and row.id == "gpu/peak@cuda"


def test_an_unknown_card_has_no_peak_row():
    assert bench.peak_row("Some Future GPU", 8e9) == []


def test_the_peers_fit_what_the_source_text_fits(bmi):
    x, y = bmi
    assert bench.python_fit(x.tolist(), y.tolist(), 100) == (W_100, B_100)
    assert bench.sklearn_fit(x.numpy()[:, None], y.numpy(), 100) == pytest.approx((W_100, B_100), rel=1e-9)
    assert [float(v.detach()) for v in bench.neuron_fit(x, y)] == pytest.approx([W_100, B_100], rel=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_asking_for_cuda_without_it_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--device", "cuda"])
    assert e.value.code == 2 and "CUDA is not available" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quick_run_times_every_case_and_judges_every_target(tmp_path):
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out), "--markdown", str(md)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert md.read_text() == proc.stdout[:-1]  # print adds one newline
    assert "## Targets" in proc.stdout and "**--quick" in proc.stdout
    assert report["machine"]["cores"] >= 1 and report["machine"]["torch"] == torch.__version__
    rows = {r["id"]: r for r in report["rows"]}

    has_dist = importlib.util.find_spec("torch_neuron.distributed") is not None
    assert ("dist/skipped@cpu" in rows) != has_dist
    for r in rows.values():
        if r["id"] != "dist/skipped@cpu":
            assert r["error"] is None and r["median_s"] > 0 and r["calls"] >= 1, r
    for dev in report["devices"]:
        for name in ("fit", "tn_fit", "epoch_map", "loop", "autograd"):
            assert f"book/{name}@{dev}" in rows
        assert {f"synth/fit@{dev}", f"neurons/one_call@{dev}", f"neurons/separate@{dev}"} <= set(rows)
    names = {i.split("/")[1].split("@")[0] for i in rows}
    assert "auto" not in names and not any("'auto'" in r["what"] for r in rows.values())  # 'auto' runs 'scan'

    # every unscaled fit of the book's problem ends where the source text's loop ends
    ref = rows["book/python@cpu"]["result"]
    assert ref == pytest.approx([W_100, B_100])
    for i in ("book/sklearn@cpu", "book/fit@cpu", "book/tn_fit@cpu"):
        assert rows[i]["result"] == pytest.approx(ref, rel=1e-9), i
    if has_dist:  # sharding changes the order of the arithmetic, not the fit
        assert rows["dist/2proc@cpu"]["result"] == pytest.approx(rows["dist/1proc@cpu"]["result"], rel=1e-9)

    assert {t["status"] for t in report["targets"]} <= STATUSES
    assert len(report["targets"]) == 7 + ("cuda" in report["devices"])
    memory = report["memory"]
    assert [m["n"] for m in memory["runs"]] == list(bench.QUICK.memory_n)
    assert all(m["rise_bytes"] > 0 for m in memory["runs"])
