"""torch_neuron.plot.explore: the live explorer. Its update (what a slider calls) draws what tn.fit returns,
a diverged fit is drawn up to where it blew up and the figure says so (in English and in Korean), the widgets
refit on a change, and without ipywidgets the error names the extra. No browser needed: the update is pure.
"""

import math
import sys

import pytest
import torch

import torch_neuron as tn

pytest.importorskip("matplotlib")
from matplotlib.text import Text  # noqa: E402
from test_plot import no_missing_glyph  # noqa: E402

from torch_neuron import plot  # noqa: E402
from torch_neuron.engines import Orders  # noqa: E402
from torch_neuron.plot import fonts  # noqa: E402
from torch_neuron.plot.blowup import BLOWUP, blow_up  # noqa: E402
from torch_neuron.plot.explorer import Explorer, settings_text  # noqa: E402
from torch_neuron.plot.labels import words  # noqa: E402

GRID = [
    dict(lr=lr, epochs=epochs, batch_size=batch, shuffle=shuffle, seed=seed)
    for lr, epochs, batch, shuffle, seed in [
        (0.01, 100, 1, False, 0),
        (0.1, 100, 1, False, 0),
        (1.0, 100, 1, False, 0),
        (1.5, 100, 1, False, 0),
        (1.0, 1, 1, False, 0),
        (0.3, 40, 10, True, 3),
        (1.0, 100, 50, False, 0),
        (1.0, 250, 442, False, 0),
        (0.5, 20, 7, True, 11),
        (1.9, 100, 442, False, 0),
    ]
]
DIVERGENT = [dict(lr=2.5), dict(lr=3.9, batch_size=442), dict(lr=2.1, batch_size=10, shuffle=True, seed=5)]


def korean_font_installed():
    try:
        fonts.korean_font_path()
    except ImportError:
        return False
    return True


LANGS = [
    "en",
    pytest.param(
        "ko",
        marks=pytest.mark.skipif(not korean_font_installed(), reason="the ko extra (koreanize-matplotlib) is missing"),
    ),
]


@pytest.fixture(scope="module")
def book(bmi):
    return bmi


@pytest.fixture(scope="module", params=LANGS)
def explorer(request, book):
    """One Explorer per language, reused by every test as a slider reuses it: each update draws over the last."""
    x, y = book
    return Explorer(x, y, xlabel="bmi", ylabel="target", lang=request.param)


def texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def fitted(x, y, settings):
    return tn.fit(x, y, history=True, **settings)


@pytest.mark.parametrize("settings", GRID, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_the_update_draws_what_the_fit_returns(explorer, settings):
    x, y = explorer.x, explorer.y  # the explorer's own float64 copies: the same tensors in, the same bits out
    r = fitted(x, y, settings)
    drawn = explorer.update(**settings)
    assert not drawn.diverged and drawn.steps == 0
    assert (drawn.w, drawn.b, drawn.loss) == (r.w.item(), r.b.item(), r.history.loss[-1].item())
    ax_data, ax_loss, ax_surf = explorer.axes

    # w, b and the loss written on the figure, as the fit returned them
    t = words(explorer.lang)
    title = t["explore_result"].format(
        settings=settings_text(lang=explorer.lang, **settings),
        w=r.w.item(),
        b=r.b.item(),
        loss=r.history.loss[-1].item(),
    )
    assert explorer.figure.get_suptitle() == drawn.title == title
    assert f"w = {r.w.item():.3f}, b = {r.b.item():.3f}" in title and f"{r.history.loss[-1].item():,.1f}" in title

    # the panels: the path ends at the fit's (w, b), the loss curve is the history's, the last line is w·x + b
    (path,) = [line for line in ax_surf.lines if len(line.get_xdata()) == settings["epochs"] + 1]
    assert path.get_xdata().tolist() == [1.0, *r.history.w.tolist()]
    assert path.get_ydata().tolist() == [1.0, *r.history.b.tolist()]
    (curve,) = [
        line
        for line in ax_loss.lines
        if len(line.get_xdata()) == settings["epochs"] and line.get_label() == t["loss_per_epoch"]
    ]
    assert curve.get_ydata().tolist() == r.history.loss.tolist()
    last = next(
        line
        for line in ax_data.lines
        if line.get_label().startswith(t["after_epoch"].format(epoch=settings["epochs"], eq=""))
    )
    ends = last.get_xdata()
    assert last.get_ydata() == pytest.approx([r.w.item() * e + r.b.item() for e in ends], rel=1e-12)
    assert ax_loss.get_xlabel() == t["epoch"]
    assert not explorer.figure._supxlabel.get_text()  # a caption only when it diverged


@pytest.mark.parametrize("settings", DIVERGENT, ids=["lr2.5", "lr3.9-full-batch", "lr2.1-batch10-shuffled"])
def test_a_divergent_lr_is_drawn_where_it_blew_up_and_said_so(explorer, book, settings):
    x, y = book
    with pytest.raises(tn.TrainingDiverged):
        tn.fit(x, y, **settings)
    drawn = explorer.update(**settings)
    t = words(explorer.lang)
    assert drawn.diverged and drawn.steps >= 1
    assert drawn.title == t["explore_diverged"].format(
        settings=settings_text(
            **{**dict(epochs=100, batch_size=1, shuffle=False, seed=0), **settings}, lang=explorer.lang
        )
    )
    caption = explorer.figure._supxlabel.get_text()
    assert caption.startswith("Diverged:" if explorer.lang == "en" else "발산:")
    assert f"w = {drawn.w:.4g}" in caption and f"b = {drawn.b:.4g}" in caption

    # drawn: each step of the book's loop up to the first one past BLOWUP × the start loss, all finite
    start = tn.epoch_losses(x, y, torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    ax_data, ax_loss, ax_surf = explorer.axes
    (path,) = [line for line in ax_surf.lines if len(line.get_xdata()) == drawn.steps + 1]
    assert math.isfinite(drawn.loss) and drawn.loss > BLOWUP * start.item()
    assert (path.get_xdata()[-1], path.get_ydata()[-1]) == (drawn.w, drawn.b)
    (curve,) = [line for line in ax_loss.lines if line.get_label() == t["loss_per_step"]]
    assert all(v <= BLOWUP * start.item() for v in curve.get_ydata()[:-1])  # the blow-up is the last step drawn
    assert ax_loss.get_xlabel() == t["step"] and ax_loss.get_yscale() == "log"
    assert any(label.startswith(t["blew_up"].split("(")[0]) for label in texts(explorer.figure))
    assert any(label.startswith(t["after_step"].format(step=drawn.steps, eq="")) for label in texts(explorer.figure))
    low, high = ax_data.get_ylim()  # the data stays in view while the lines fly off
    assert low <= y.min().item() and y.max().item() <= high < 2 * y.max().item()


def test_after_a_divergent_lr_the_next_update_is_drawn_afresh(explorer):
    x, y = explorer.x, explorer.y
    explorer.update(lr=2.5)
    drawn = explorer.update(lr=0.1)
    r = fitted(x, y, dict(lr=0.1))
    assert not drawn.diverged and (drawn.w, drawn.b) == (r.w.item(), r.b.item())
    t = words(explorer.lang)
    ax_data, ax_loss, ax_surf = explorer.axes
    assert ax_loss.get_xlabel() == t["epoch"] and not explorer.figure._supxlabel.get_text()
    assert len(ax_data.lines) == 3 and len(ax_data.collections) == 1  # first, last, least squares; the data
    assert len(ax_surf.lines) == 4  # path, start, end, optimum: nothing left from the diverged picture
    assert not [s for s in texts(explorer.figure) if t["step_1"] == s or s.startswith(t["loss_per_step"])]


def test_a_growing_fit_that_never_passes_the_limit_is_drawn_over_all_its_steps(explorer, book):
    """lr 2.02 on the whole batch: the epoch map grows (tn.fit says diverged), but slowly; no blow-up within 100
    steps, so all of them are drawn and the caption says the fit grows."""
    x, y = book
    settings = dict(lr=2.02, batch_size=442)
    try:
        tn.fit(x, y, **settings)
        pytest.skip("this tn.fit does not call a slowly growing fit diverged")
    except tn.TrainingDiverged:
        pass
    drawn = explorer.update(**settings)
    assert drawn.diverged and drawn.steps == 100
    t = words(explorer.lang)
    assert explorer.figure._supxlabel.get_text().startswith(t["growth_caption"].split("(")[0])
    assert any(s.startswith(t["last_step"].format(step=100, w=drawn.w, b=drawn.b)) for s in texts(explorer.figure))


def test_the_steps_drawn_are_the_fits_own_steps(book):
    """blow_up runs engine 'loop''s steps in the fit's sample orders: its epoch ends are the fit's history."""
    x, y = book
    settings = dict(lr=0.5, epochs=3, batch_size=50, shuffle=True, seed=4)
    steps, per_epoch, passed = blow_up(x, y, limit=math.inf, **settings)
    assert not passed and per_epoch == 9 and len(steps.w) == 27
    h = tn.fit(x, y, engine="loop", history=True, **settings).history
    assert steps.w[per_epoch - 1 :: per_epoch].tolist() == h.w.tolist()
    assert steps.b[per_epoch - 1 :: per_epoch].tolist() == h.b.tolist()
    # the first step by hand: batch 1 of the first shuffled epoch
    perm = Orders(len(x), 3, True, 4).perm(0)[:50]
    w, b = tn.sgd_step(
        torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64), x[perm], y[perm], 0.5
    )
    assert (steps.w[0].item(), steps.b[0].item()) == (w.item(), b.item())


def test_a_blow_up_stops_at_the_first_step_past_the_limit(book):
    """lr 2.5, per sample: the book's loop in plain Python floats, step by step, to where the loss passes the limit."""
    x, y = book
    steps, _, passed = blow_up(x, y, lr=2.5)
    xs, ys = x.tolist(), y.tolist()
    limit = BLOWUP * sum((yy - (xx + 1.0)) ** 2 for xx, yy in zip(xs, ys)) / (2 * len(xs))  # from (w, b) = (1, 1)
    w, b, ws = 1.0, 1.0, []
    for x_i, y_i in zip(xs, ys):
        err = -(y_i - (x_i * w + b))
        w, b = w - 2.5 * x_i * err, b - 2.5 * err
        ws.append(w)
        if sum((yy - (xx * w + b)) ** 2 for xx, yy in zip(xs, ys)) / (2 * len(xs)) > limit:
            break
    assert passed and len(steps.w) == len(ws)
    assert steps.w.tolist() == pytest.approx(ws, rel=1e-12)


def test_pictures_in_korean_have_no_missing_glyph(book, caplog):
    if not korean_font_installed():
        pytest.skip("the ko extra (koreanize-matplotlib) is not installed")
    x, y = book
    explorer = Explorer(x, y, xlabel="bmi", ylabel="target", lang="ko")
    with no_missing_glyph(caplog):
        for settings in (dict(lr=0.1), dict(lr=2.5), dict(lr=2.02, batch_size=442), dict(lr=1.0, shuffle=True)):
            explorer.update(**settings)
            explorer.png()


def test_png_is_the_figure_at_its_size_and_pyplot_is_left_alone(book):
    import matplotlib

    x, y = book
    before = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}  # reading it may resolve it
    explorer = Explorer(x, y, size=(10, 3.5), dpi=50)
    explorer.update(lr=0.2)
    png = explorer.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (500).to_bytes(4, "big") + (175).to_bytes(4, "big")
    assert "matplotlib.pyplot" not in sys.modules or not sys.modules["matplotlib.pyplot"].get_fignums()
    assert {k: v for k, v in matplotlib.rcParams.items() if k != "backend"} == before


def test_the_update_changes_neither_the_data_nor_the_callers_tensors(book):
    x, y = book
    x0, y0 = x.clone(), y.clone()
    Explorer(x, y).update(lr=2.5)
    assert torch.equal(x, x0) and torch.equal(y, y0)


def test_explore_wires_the_sliders_to_the_update(book):
    pytest.importorskip("ipywidgets")
    x, y = book
    box = plot.explore(x, y, xlabel="bmi", ylabel="target")
    controls = box.controls
    assert set(controls) == {"lr", "epochs", "batch_size", "shuffle", "seed"}
    assert controls["lr"].min == pytest.approx(-2) and 10 ** controls["lr"].max > 2.5  # 0.01 … past divergence
    assert 1 in controls["batch_size"].options and len(x) in controls["batch_size"].options
    assert controls["seed"].disabled  # in order: the seed picks nothing
    image = box.children[-1]
    first = image.value
    assert bytes(first[:8]) == b"\x89PNG\r\n\x1a\n"
    assert box.explorer.drawn.w == tn.fit(x, y).w.item()

    controls["lr"].value = 0.1
    r = tn.fit(x, y, lr=0.1)
    assert box.explorer.drawn.w == r.w.item() and image.value != first
    controls["shuffle"].value = True
    assert not controls["seed"].disabled
    controls["seed"].value = 7
    assert box.explorer.drawn.w == tn.fit(x, y, lr=0.1, shuffle=True, seed=7).w.item()
    controls["lr"].value = 2.5
    assert box.explorer.drawn.diverged


def test_explore_speaks_the_readers_language(book):
    pytest.importorskip("ipywidgets")
    if not korean_font_installed():
        pytest.skip("the ko extra (koreanize-matplotlib) is not installed")
    x, y = book
    box = plot.explore(x, y, lang="ko", lr=2.5)
    assert box.controls["lr"].description == "학습률" and box.explorer.drawn.diverged
    assert "발산" in box.explorer.drawn.title


def test_without_ipywidgets_the_error_names_the_extra(monkeypatch, book):
    x, y = book
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match=r"^the explorer needs ipywidgets: pip install 'torch_neuron\[notebook\]'$"):
        plot.explore(x, y)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, book):
    x, y = book
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'torch_neuron\[notebook\]'"):
        plot.explore(x, y)


def test_bad_settings_are_the_fits_errors(book):
    x, y = book
    explorer = Explorer(x, y)
    with pytest.raises(ValueError):
        explorer.update(lr=-1.0)
    with pytest.raises(ValueError, match="lang"):
        Explorer(x, y, lang="fr")
