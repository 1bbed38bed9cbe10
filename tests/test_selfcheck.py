"""run_checks: every self-check passes on a correct build, and each planted fault fails the rows meant to catch it."""

import json
import math

import pytest
import torch

import torch_neuron.functional as F
from torch_neuron import NeuronFunction
from torch_neuron.cli import main
from torch_neuron.cli.gradient_checks import gradchecks, gradient_checks
from torch_neuron.cli.selfcheck import compare, run_checks

CPU, F64 = torch.device("cpu"), torch.float64
KINDS = [
    "backprop vs autograd, per sample",
    "backprop vs vmap(grad), per batch",
    "backprop vs autograd, summed loss",
    "NeuronFunction vs vmap(grad), per batch",
    "NeuronFunction jvp vs torch.func.jvp",
    "gradcheck NeuronFunction, reverse mode",
    "gradcheck NeuronFunction, forward mode",
    "gradgradcheck NeuronFunction",
    "loop engine vs the book's Python code",
    "loop vs autograd engine (5",
    "loop vs autograd engine (batch 32",
    "scan vs loop engine (20",
    "scan vs loop engine (batch 32",
    "CPU kernel vs loop engine",  # where Numba is installed, as the dev extra does
    "CPU kernel vs eager scan",
]


@pytest.fixture(scope="module", params=[torch.float64, torch.float32], ids=["float64", "float32"])
def results(request):
    return request.param, run_checks("cpu", request.param)


def failed_rows(checks):
    return {r.name for r in checks if not r.passed}


def starting_with(names, *prefixes):
    return {n for n in names if n.startswith(prefixes)}


def test_every_check_passes_on_cpu(results):
    dtype, checks = results
    failed = [r for r in checks if not r.passed]
    assert not failed, failed


def test_every_kind_of_check_is_run_once(results):
    names = [r.name for r in results[1]]
    for kind in KINDS:
        assert len(starting_with(names, kind)) == 1, kind
    assert len(names) == len(KINDS)


def test_every_row_says_what_it_catches_and_what_it_cannot_see(results):
    for r in results[1]:
        assert r.catches and r.blind_to, r.name


def test_the_loop_equals_the_books_code_and_the_autograd_engine_bit_for_bit(results):
    for prefix in ("loop engine vs the book's Python code", "loop vs autograd engine (5"):
        (row,) = [r for r in results[1] if r.name.startswith(prefix)]
        assert row.max_abs_err == 0 and row.tolerance == 0


def test_gradcheck_runs_in_float64_and_says_so(results):
    dtype, checks = results
    names = [r.name for r in checks if "gradcheck" in r.name]
    assert len(names) == 3 and all("float64" in n for n in names)
    if dtype == torch.float32:
        assert all("float32" in n for n in names)


# --- planted faults: the rows meant to catch each one fail, and the table says which -------------


def test_a_wrong_backprop_fails_the_self_check_though_scan_vs_loop_passes(monkeypatch, capsys):
    """backprop with w_grad = 2·x·err: `torch-neuron check` exits 1, failing the backprop rows and every row
    that holds the loop or the scan to something outside sgd_step (the book's code, autograd, the compiled
    kernel, which restates the map). The scan-vs-loop rows pass: the eager scan reads its maps off sgd_step,
    so it shares the fault, and their blind_to says so."""
    monkeypatch.setattr(F, "backprop", lambda x, err: (2 * x * err, 1 * err))
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--json", "--device", "cpu"])
    assert exit_info.value.code == 1
    rows = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    failed = {name for name, c in rows.items() if not c["passed"]}
    assert failed == starting_with(rows, "backprop", "loop engine vs the book's", "loop vs autograd", "CPU kernel")
    assert len(failed) == 8
    scan_rows = starting_with(rows, "scan vs loop")
    assert len(scan_rows) == 2 and not scan_rows & failed
    assert all("sgd_step" in rows[name]["blind_to"] for name in scan_rows)


def test_a_wrong_batch_mean_fails_only_the_mini_batch_row_of_loop_vs_autograd(monkeypatch):
    """sgd_step's mean over a batch of m > 1 divided by m + 1: every batch-1 row passes (they cannot see
    it), scan vs loop passes (shared sgd_step), and the mini-batch loop-vs-autograd row fails."""
    mean = F._mean  # the one place sgd_step averages a batch: the fault is planted there
    monkeypatch.setattr(F, "_mean", lambda g: mean(g) if g.shape[-1] == 1 else g.sum(-1) / (g.shape[-1] + 1))
    checks = run_checks("cpu", F64)
    assert failed_rows(checks) == {"loop vs autograd engine (batch 32, shuffled, 20 epochs)"}  # kernel rows: batch 1
    (row,) = [r for r in checks if not r.passed]
    assert row.max_rel_err > 1e3 * row.tolerance  # a real difference, not rounding


def test_a_wrong_backward_fails_the_reverse_mode_rows(monkeypatch):
    """NeuronFunction.backward with grad_w doubled: gradcheck (reverse) and the vmap(grad) row catch it.

    (gradgradcheck tests the backward's own derivative, which autograd still gets right for the doubled formula.)
    """
    backward = NeuronFunction.backward

    def doubled(ctx, g):
        gx, gw, gb = backward(ctx, g)
        return gx, None if gw is None else 2 * gw, gb

    monkeypatch.setattr(NeuronFunction, "backward", staticmethod(doubled))
    failed = failed_rows(gradient_checks(CPU, F64) + gradchecks(CPU, F64))
    assert failed == {"NeuronFunction vs vmap(grad), per batch", "gradcheck NeuronFunction, reverse mode (float64)"}


def test_a_wrong_jvp_fails_the_forward_mode_rows(monkeypatch):
    """NeuronFunction.jvp without its w·dx term: the jvp row and gradcheck (forward mode) catch it; the
    reverse-mode rows cannot see it."""
    jvp = NeuronFunction.jvp

    def without_w_dx(ctx, dx, dw, db):
        if dw is None and db is None:
            x, _ = ctx.saved_tensors
            return torch.zeros(ctx.shape, dtype=x.dtype, device=x.device)
        return jvp(ctx, None, dw, db)

    monkeypatch.setattr(NeuronFunction, "jvp", staticmethod(without_w_dx))
    failed = failed_rows(gradient_checks(CPU, F64) + gradchecks(CPU, F64))
    assert failed == {
        "NeuronFunction jvp vs torch.func.jvp, per sample",
        "gradcheck NeuronFunction, forward mode (float64)",
    }


def test_a_diverging_fit_is_a_failed_row_not_a_crash(monkeypatch):
    """A fault that makes the loop diverge (w_grad ×1000) still yields a table: those rows fail, error inf."""
    monkeypatch.setattr(F, "backprop", lambda x, err: (1000 * x * err, 1 * err))
    checks = run_checks("cpu", F64)
    diverged = [r for r in checks if r.max_abs_err == math.inf]
    assert diverged and not any(r.passed for r in diverged)


def test_compare_measures_elementwise_relative_error():
    want = torch.tensor([0.0, 1.0, -4.0], dtype=F64)
    exact = compare("same", want.clone(), want, 0.0)
    assert exact.passed and exact.max_abs_err == 0 and exact.max_rel_err == 0  # 0 vs 0 is no error
    off = compare("off", torch.tensor([0.0, 1.0, -4.002], dtype=F64), want, 1e-3)
    assert off.max_abs_err == pytest.approx(2e-3) and off.max_rel_err == pytest.approx(5e-4) and off.passed
    assert not compare("strict", torch.tensor([0.0, 1.0, -4.002], dtype=F64), want, 1e-4).passed
    assert not compare("nonzero vs zero", torch.tensor([1e-300], dtype=F64), torch.tensor([0.0]), 1.0).passed
    nan = compare("nan", torch.tensor([math.nan, 1.0], dtype=F64), torch.tensor([math.nan, 1.0], dtype=F64), 1.0)
    assert not nan.passed and nan.max_abs_err == math.inf  # NaN on both sides is no agreement


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_check_passes_on_cuda_including_cpu_vs_cuda(dtype):
    checks = run_checks("cuda", dtype)
    assert not [r for r in checks if not r.passed]
    assert sum("cpu vs cuda" in r.name for r in checks) == 3


def test_a_wrong_kernel_fails_only_the_kernel_rows(monkeypatch):
    """The compiled kernel's map with c = lr·y·v off by one part in 10⁹: the two kernel rows fail, every row
    of the eager engines passes (they never run it)."""
    from torch_neuron.engines import cpu

    epoch_map = cpu.epoch_map

    def off(*args, **kwargs):
        M = epoch_map(*args, **kwargs).clone()
        M[..., :2, 2] *= 1 + 1e-9
        return M

    monkeypatch.setattr(cpu, "epoch_map", off)
    checks = run_checks("cpu", F64)
    assert failed_rows(checks) == {"CPU kernel vs loop engine (20 epochs)", "CPU kernel vs eager scan (20 epochs)"}
