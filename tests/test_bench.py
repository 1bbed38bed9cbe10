"""Smoke test of scripts/bench.py: `--quick --json` runs, and its JSON holds every workload, row and target."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
ROW_KEYS = {"workload", "key", "method", "device", "size", "scale", "median_s", "runs", "peak_bytes", "mem_kind",
            "vs_python", "vs_sklearn", "result_wb"}


def test_quick_benchmark_writes_every_workload_and_target_as_json(tmp_path):
    """Every method of the issue has a timed row per device; the per-sample ones fit what plain Python fits."""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## Targets" in proc.stdout and "| method | device |" in proc.stdout
    report = json.loads(out.read_text())
    assert {"machine", "args", "devices", "results", "targets", "bandwidth"} <= set(report)
    assert report["machine"]["cores"] >= 1 and report["machine"]["torch"]
    devices, rows = report["devices"], report["results"]
    assert devices[0] == "cpu"

    for row in rows:
        assert ROW_KEYS <= set(row), row
        assert "error" not in row, row
        assert row["median_s"] > 0 and row["runs"] >= 1 and row["device"] in devices

    def keys(workload, device):
        return {r["key"] for r in rows if (r["workload"], r["device"]) == (workload, device)}
    engines = {"auto", "scan", "loop", "autograd", "torch0d"}
    assert {"python", "numpy", "sklearn", "lstsq"} <= keys("book", "cpu")
    assert {"python", "numpy", "sklearn", "lstsq"} <= keys("synth", "cpu")
    assert {"python", "sklearn"} <= keys("neurons", "cpu")
    for dev in devices:
        assert engines <= keys("book", dev) and engines | {"epoch_map"} <= keys("synth", dev)
        assert {"separate", "auto", "scan", "loop"} <= keys("neurons", dev)
    assert ("cuda" in devices) == bool(keys("gpu", "cuda")) == (report["bandwidth"] is not None)

    # a row's ratio is the baseline's time over its own, for whole fits of the same workload only
    for row in rows:
        py = [r for r in rows if (r["workload"], r["key"]) == (row["workload"], "python")]
        if py and row["key"] != "epoch_map":
            assert row["vs_python"] == pytest.approx(py[0]["median_s"] / row["median_s"])
        else:  # the epoch map and the copy are parts of a fit; the CUDA-only workload has no Python baseline
            assert row["vs_python"] is None and (row["key"] in ("epoch_map", "clone") or row["workload"] == "gpu")
    assert all(r["vs_python"] == pytest.approx(1) for r in rows if r["key"] == "python")

    # the same computation is timed everywhere: on the book's problem every per-sample method ends where the
    # plain Python loop ends (scikit-learn being the outside oracle), and least squares elsewhere
    book = {(r["key"], r["device"]): r["result_wb"] for r in rows if r["workload"] == "book"}
    ref = book[("python", "cpu")]
    for (key, dev), wb in book.items():
        if key == "lstsq":
            assert wb != pytest.approx(ref, rel=1e-3)
        else:
            assert wb == pytest.approx(ref, rel=1e-9), (key, dev)

    names = [t["target"] for t in report["targets"]]
    assert any("vs plain Python" in n for n in names) and any("epoch map" in n for n in names)
    assert any("separate fits" in n for n in names) and any("vs sklearn" in n for n in names)
    for t in report["targets"]:
        assert isinstance(t["met"], bool) and t["text"].endswith("MET")
