"""What the front door promises about the numbers (issue 14, items 4, 6 and 7, held here as a spec):
divergence is seen and named before anything overflows; a sweep names its diverged neurons and can return
the rest; asking for a history never changes w and b; and the history's loss is accurate on a near-perfect
fit, with large offsets in y too, in fit and fit_chunks alike."""

import math
import re

import pytest
import torch
from helpers import F64
from test_boundary import loop_oracle

import torch_neuron as tn
from torch_neuron.functional import mean_loss

F32 = torch.float32


# ---- divergence --------------------------------------------------------------------------------------


def test_lr_2_on_the_books_data_diverges_before_anything_overflows(bmi):
    """The book's loop at lr 2 ends at w ≈ −1.5e46 after 100 epochs: finite, yet growing without bound."""
    x, y = bmi
    w, b = loop_oracle(x.tolist(), y.tolist(), lr=2.0, epochs=100)[-1]
    assert math.isfinite(w) and math.isfinite(b) and abs(w) > 1e40  # the premise: finite, and far off
    before = x.clone(), y.clone()
    with pytest.raises(tn.TrainingDiverged) as info:
        tn.fit(x, y, lr=2.0)
    message = str(info.value)
    assert re.search(r"\blr\s*=\s*2(\.0*)?(?![\d.])", message), f"the message does not name lr=2: {message!r}"
    assert re.search(r"\bepoch\s*\d+", message), f"the message does not name the epoch: {message!r}"
    assert torch.equal(x, before[0]) and torch.equal(y, before[1])


@pytest.mark.parametrize("entry", ["fit", "fit_chunks"])
def test_a_sweep_names_the_diverged_neurons_and_their_lr(bmi, entry):
    """lr = [0.5, 10]: the error names neuron (1,) and its lr 10, not 'a tensor of learning rates'."""
    x, y = bmi
    lr = torch.tensor([0.5, 10.0], dtype=F64)
    run = (
        (lambda **kw: tn.fit(x, y, **kw))
        if entry == "fit"
        else (lambda **kw: tn.fit_chunks(zip(x.split(100), y.split(100)), **kw))
    )
    with pytest.raises(tn.TrainingDiverged) as info:
        run(lr=lr, epochs=20)
    message = str(info.value)
    assert "(1,)" in message and re.search(r"(?<![\d.])10(\.0*)?(?![\d.])", message), message
    assert "(0,)" not in message, message


@pytest.mark.parametrize("entry", ["fit", "fit_chunks"])
def test_on_divergence_nan_returns_the_converging_neurons(bmi, entry):
    """Neuron 0 of lr = [0.5, 10] is tn.fit(x, y, lr=0.5): the same bits through fit, within the scan's 1e-12
    through fit_chunks; neuron 1 is NaN."""
    x, y = bmi
    lr = torch.tensor([0.5, 10.0], dtype=F64)
    if entry == "fit":
        result = tn.fit(x, y, lr=lr, on_divergence="nan")
    else:
        result = tn.fit_chunks(zip(x.split(100), y.split(100)), lr=lr, on_divergence="nan")
    alone = tn.fit(x, y, lr=0.5)
    assert result.w.dtype == F64 and result.w.shape == (2,)
    rel = 0 if entry == "fit" else 1e-12
    assert result.w[0].item() == pytest.approx(alone.w.item(), rel=rel, abs=0)
    assert result.b[0].item() == pytest.approx(alone.b.item(), rel=rel, abs=0)
    assert result.w[1].isnan() and result.b[1].isnan()
    assert torch.equal(lr, torch.tensor([0.5, 10.0], dtype=F64))


def test_a_2d_sweep_names_each_diverged_neuron_by_its_index(bmi):
    x, y = bmi
    lr = torch.tensor([[0.5, 1.0], [20.0, 0.25]], dtype=F64)
    with pytest.raises(tn.TrainingDiverged) as info:
        tn.fit(x, y, lr=lr, epochs=20)
    assert "(1, 0)" in str(info.value) and "20" in str(info.value), str(info.value)
    result = tn.fit(x, y, lr=lr, epochs=20, on_divergence="nan")
    assert result.w.isnan().tolist() == [[False, False], [True, False]]


def test_on_divergence_nan_changes_nothing_when_every_neuron_converges(bmi):
    x, y = bmi
    lr = torch.tensor([0.5, 1.0], dtype=F64)
    a, b = tn.fit(x, y, lr=lr, epochs=10), tn.fit(x, y, lr=lr, epochs=10, on_divergence="nan")
    assert torch.equal(a.w, b.w) and torch.equal(a.b, b.b)


@pytest.mark.parametrize("value", ["ignore", "NaN", "", None], ids=repr)
def test_on_divergence_is_raise_or_nan(value, bmi):
    """Another string is a ValueError; a non-string may be a TypeError (as for engine)."""
    x, y = bmi
    with pytest.raises(ValueError if value is not None else (TypeError, ValueError), match="on_divergence"):
        tn.fit(x, y, epochs=1, on_divergence=value)


# ---- the same answer whatever else is asked ------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.1, 1.0])
@pytest.mark.parametrize("engine", ["scan", "auto", "loop"])
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("shuffle", [False, True], ids=["in order", "shuffled"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_asking_for_a_history_never_changes_w_and_b(bmi, dtype, shuffle, batch_size, engine, lr):
    x, y = (t.to(dtype) for t in bmi)
    kw = {"epochs": 5, "lr": lr, "batch_size": batch_size, "shuffle": shuffle, "seed": 3, "engine": engine}
    plain, with_history = tn.fit(x, y, **kw), tn.fit(x, y, history=True, **kw)
    assert torch.equal(plain.w, with_history.w) and torch.equal(plain.b, with_history.b)
    assert torch.equal(with_history.history.w[..., -1], plain.w)
    assert torch.equal(with_history.history.b[..., -1], plain.b)


def test_lr_0_1_on_the_books_data_gives_the_same_b_with_a_history(bmi):
    """The issue's example: b = 135.37246416804066 became 135.3724641680407 with --plot (a history)."""
    x, y = bmi
    plain, with_history = tn.fit(x, y, lr=0.1), tn.fit(x, y, lr=0.1, history=True)
    assert plain.b.item() == with_history.b.item() == pytest.approx(135.37246416804066, rel=1e-12)
    assert plain.w.item() == with_history.w.item()
    lr = torch.tensor([0.1, 1.0], dtype=F64)
    sweep = tn.fit(x, y, lr=lr), tn.fit(x, y, lr=lr, history=True)
    assert torch.equal(sweep[0].w, sweep[1].w) and torch.equal(sweep[0].b, sweep[1].b)


# ---- an accurate loss ------------------------------------------------------------------------------------


def near_perfect(offset, n=2000):
    """float32 x ~ U(0, 1), y = 2x + 1 + offset + 1e-4·noise: a fit whose loss is ~5e-9, far below y²."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, generator=g, dtype=F64)
    return x.float(), (2 * x + 1 + offset + 1e-4 * torch.randn(n, generator=g, dtype=F64)).float()


@pytest.mark.parametrize("entry", ["fit", "fit in a sweep", "fit_chunks"])
@pytest.mark.parametrize("offset", [0.0, 1e4], ids=["y ~ 2x + 1", "y offset by 1e4"])
def test_the_history_loss_is_accurate_on_a_near_perfect_fit(offset, entry):
    """Full batch, lr 1, 200 epochs, float32: every epoch's loss within 1e-3 of mean_loss in float64 at that
    (w, b). From moments as vyy − slope·cxy it was 1.1e-14 where the truth is 4.8e-9."""
    x, y = near_perfect(offset)
    kw = {"lr": 1.0, "epochs": 200, "batch_size": x.shape[-1], "history": True, "b": 1.0 + offset}
    if entry == "fit_chunks":
        result = tn.fit_chunks(zip(x.split(300), y.split(300)), **kw)
    elif entry == "fit in a sweep":
        result = tn.fit(x, y, **(kw | {"lr": torch.tensor([1.0, 0.9])}))
    else:
        result = tn.fit(x, y, **kw)
    h = result.history
    assert h.loss.dtype == F32 and h.loss.shape == h.w.shape
    true = mean_loss(x.double(), y.double(), h.w.double(), h.b.double())  # (..., epochs): each epoch's (w, b)
    assert true[..., -1].max() < (1e-8 if offset == 0 else 1e-5)  # the hard case: a near-perfect fit
    err = ((h.loss.double() - true).abs() / true).max().item()
    assert err <= 1e-3, (
        f"history loss off by {err:.3g} relative (last: {h.loss[..., -1].tolist()} vs {true[..., -1].tolist()})"
    )
