"""run_checks: every self-check passes on a correct build, and a broken backprop or backward makes them fail."""
import math

import pytest
import torch

import torch_neuron.functional as F
from torch_neuron import NeuronFunction
from torch_neuron.checks import compare, gradchecks, gradient_checks, run_checks

KINDS = ["backprop vs autograd, per sample", "backprop vs vmap(grad), per batch", "backprop vs autograd, summed loss",
         "gradcheck NeuronFunction", "gradgradcheck NeuronFunction", "loop vs autograd engine", "scan vs loop engine"]


@pytest.fixture(scope="module", params=[torch.float64, torch.float32], ids=["float64", "float32"])
def results(request):
    return request.param, run_checks("cpu", request.param)


def test_every_check_passes_on_cpu(results):
    dtype, checks = results
    failed = [r for r in checks if not r.passed]
    assert not failed, failed


def test_every_kind_of_check_is_run(results):
    _, checks = results
    for kind in KINDS:
        assert any(r.name.startswith(kind) for r in checks), kind


def test_errors_are_within_their_tolerances(results):
    for r in results[1]:
        if not math.isnan(r.max_rel_err):
            assert 0 <= r.max_rel_err <= r.tolerance and r.max_abs_err >= 0


def test_loop_and_autograd_engines_agree_bit_for_bit(results):
    (loop_vs_autograd,) = [r for r in results[1] if r.name.startswith("loop vs autograd")]
    assert loop_vs_autograd.max_abs_err == 0 and loop_vs_autograd.tolerance == 0


def test_gradcheck_runs_in_float64_and_says_so(results):
    dtype, checks = results
    names = [r.name for r in checks if "gradcheck" in r.name]
    assert len(names) == 2 and all("float64" in n for n in names)
    if dtype == torch.float32:
        assert all("float32" in n for n in names)


def test_a_broken_backprop_fails_the_checks_that_use_it(monkeypatch):
    """backprop returning 2·x·err: the backprop checks and loop-vs-autograd fail; NeuronFunction's own checks pass."""
    monkeypatch.setattr(F, "backprop", lambda x, err: (2 * x * err, 1 * err))
    checks = {r.name: r for r in run_checks("cpu", torch.float64)}
    for name, r in checks.items():
        uses_backprop = name.startswith(("backprop", "loop vs autograd"))
        assert r.passed != uses_backprop, r
        if uses_backprop:
            assert r.max_rel_err > r.tolerance


def test_a_broken_backward_fails_gradcheck(monkeypatch):
    """NeuronFunction.backward with grad_w doubled: gradcheck and the vmap check catch it.

    (gradgradcheck tests the backward's own derivative, which autograd still gets right for the doubled formula.)
    """
    backward = NeuronFunction.backward

    def doubled(ctx, g):
        gx, gw, gb = backward(ctx, g)
        return gx, None if gw is None else 2 * gw, gb
    monkeypatch.setattr(NeuronFunction, "backward", staticmethod(doubled))
    checks = gradient_checks(torch.device("cpu"), torch.float64) + gradchecks(torch.device("cpu"), torch.float64)
    failed = {r.name for r in checks if not r.passed}
    assert failed == {"NeuronFunction vs vmap(grad), per batch", "gradcheck NeuronFunction (float64)"}


def test_compare_measures_elementwise_relative_error():
    want = torch.tensor([0.0, 1.0, -4.0], dtype=torch.float64)
    exact = compare("same", want.clone(), want, 0.0)
    assert exact.passed and exact.max_abs_err == 0 and exact.max_rel_err == 0  # 0 vs 0 is no error
    off = compare("off", torch.tensor([0.0, 1.0, -4.002], dtype=torch.float64), want, 1e-3)
    assert off.max_abs_err == pytest.approx(2e-3) and off.max_rel_err == pytest.approx(5e-4) and off.passed
    assert not compare("strict", torch.tensor([0.0, 1.0, -4.002], dtype=torch.float64), want, 1e-4).passed
    assert not compare("nonzero vs zero", torch.tensor([1e-300], dtype=torch.float64), torch.tensor([0.0]), 1.0).passed


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_check_passes_on_cuda_including_cpu_vs_cuda(dtype):
    checks = run_checks("cuda", dtype)
    assert not [r for r in checks if not r.passed]
    assert sum("cpu vs cuda" in r.name for r in checks) == 3
