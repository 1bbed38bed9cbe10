"""torch_neuron.plot: real PNGs of the stated size, drawn from the fit's own history, touching nothing;
in English by default, in Korean (lang='ko') without a missing glyph and without touching the global rcParams."""

import contextlib
import logging
import re
import string
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import torch_neuron as tn

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from torch_neuron import plot  # noqa: E402
from torch_neuron.cli import main  # noqa: E402
from torch_neuron.plot import fonts, labels  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from the IHDR chunk, which the PNG format puts first, right after the signature."""
    with open(path, "rb") as f:
        data = f.read(24)
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def book_fit():
    """The book's problem, fitted in float64 with its history: (x, y, neuron, history)."""
    data = tn.load_diabetes()
    x, y = torch.as_tensor(data.data[:, 2]), torch.as_tensor(data.target)
    neuron = tn.Neuron(dtype=torch.float64)
    history = neuron.fit(x, y, history=True)
    return x, y, neuron, history


@pytest.fixture(scope="module")
def noiseless_fit():
    """y = 3x + 2 exactly: per-sample SGD converges, the loss falls by many decades."""
    x = torch.linspace(-1, 1, 20, dtype=torch.float64)
    y = 3 * x + 2
    neuron = tn.Neuron(dtype=torch.float64)
    return x, y, neuron, neuron.fit(x, y, epochs=30, lr=0.1, history=True)


def axes():
    return Figure().subplots()


@pytest.mark.parametrize("size, dpi", [((8, 3), 50), ((12, 4), 72)])
def test_plot_fit_writes_a_png_of_size_times_dpi_pixels(tmp_path, book_fit, size, dpi):
    x, y, _, history = book_fit
    path = tmp_path / "fit.png"
    assert plot.plot_fit(path, x, y, history, size=size, dpi=dpi) == path
    assert png_size(path) == (round(size[0] * dpi), round(size[1] * dpi))


def test_plot_fit_default_is_1500_by_450_and_raises_no_warnings(tmp_path, book_fit):
    """No warning at all: in particular no missing-glyph warning (the labels need no CJK font)."""
    x, y, _, history = book_fit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.plot_fit(tmp_path / "fit.png", x, y, history)
    assert png_size(tmp_path / "fit.png") == (1500, 450)


def test_plot_limit_cycle_writes_a_png_of_size_times_dpi_pixels(tmp_path, book_fit):
    x, y, _, history = book_fit
    path = plot.plot_limit_cycle(tmp_path / "cycle.png", x, y, history, size=(10, 4), dpi=80)
    assert png_size(path) == (800, 320)


def test_surface_path_is_the_history_from_the_start_point(book_fit):
    x, y, _, history = book_fit
    art = plot.draw_loss_surface(axes(), x, y, history, w0=1.0, b0=1.0, grid=40)
    np.testing.assert_array_equal(art["path"].get_xdata(), [1.0, *history.w.tolist()])
    np.testing.assert_array_equal(art["path"].get_ydata(), [1.0, *history.b.tolist()])
    assert (art["start"].get_xdata()[0], art["start"].get_ydata()[0]) == (1.0, 1.0)
    assert art["sgd"].get_xdata()[0] == history.w[-1].item()
    assert art["sgd"].get_ydata()[0] == history.b[-1].item()


def test_surface_marks_the_least_squares_optimum_of_numpy_lstsq(book_fit):
    x, y, _, history = book_fit
    art = plot.draw_loss_surface(axes(), x, y, history, grid=40)
    A = np.stack([x.numpy(), np.ones(len(x))], 1)
    (w_opt, b_opt), *_ = np.linalg.lstsq(A, y.numpy(), rcond=None)
    assert art["optimum"].get_xdata()[0] == pytest.approx(w_opt, rel=1e-9)
    assert art["optimum"].get_ydata()[0] == pytest.approx(b_opt, rel=1e-9)


def test_surface_range_holds_path_start_and_optimum_with_a_margin(book_fit):
    x, y, _, history = book_fit
    ax = axes()
    art = plot.draw_loss_surface(ax, x, y, history, w0=1.0, b0=1.0, grid=40)
    ws = [*art["path"].get_xdata(), *art["optimum"].get_xdata()]
    bs = [*art["path"].get_ydata(), *art["optimum"].get_ydata()]
    (w_lo, w_hi), (b_lo, b_hi) = ax.get_xlim(), ax.get_ylim()
    assert w_lo < min(ws) and max(ws) < w_hi
    assert b_lo < min(bs) and max(bs) < b_hi


def test_surface_contours_are_the_mean_loss_over_the_data(book_fit):
    """The lowest contour level lies above the least-squares loss, computed here from its definition."""
    x, y, _, history = book_fit
    art = plot.draw_loss_surface(axes(), x, y, history, grid=40)
    (w_opt, b_opt), *_ = np.linalg.lstsq(np.stack([x.numpy(), np.ones(len(x))], 1), y.numpy(), rcond=None)
    best = np.mean(0.5 * (y.numpy() - (w_opt * x.numpy() + b_opt)) ** 2)
    levels = art["contours"].levels
    assert best < levels.min() < best * 1.1
    assert np.all(np.diff(levels) > 0)


def test_loss_curve_is_history_loss_per_epoch(book_fit):
    x, y, _, history = book_fit
    ax = axes()
    art = plot.draw_loss_curve(ax, history)
    np.testing.assert_array_equal(art["loss"].get_ydata(), history.loss.numpy())
    np.testing.assert_array_equal(art["loss"].get_xdata(), np.arange(1, len(history.loss) + 1))
    assert ax.get_yscale() == "linear"  # 3483 → 2360: less than a decade


def test_loss_curve_goes_log_when_the_loss_spans_more_than_a_decade(noiseless_fit):
    _, _, _, history = noiseless_fit
    assert history.loss.max() / history.loss.min() > 10
    ax = axes()
    plot.draw_loss_curve(ax, history, best=0.0)
    assert ax.get_yscale() == "log"


def test_data_panel_draws_the_data_and_the_first_and_last_epoch_lines(book_fit):
    x, y, _, history = book_fit
    art = plot.draw_data_and_lines(axes(), x, y, history)
    np.testing.assert_array_equal(art["data"].get_offsets(), np.stack([x.numpy(), y.numpy()], 1))
    for key, i in (("first", 0), ("last", -1)):
        xs, ys = np.asarray(art[key].get_xdata()), np.asarray(art[key].get_ydata())
        np.testing.assert_allclose(ys, history.w[i].item() * xs + history.b[i].item(), rtol=1e-12)
        assert (xs.min(), xs.max()) == (x.min().item(), x.max().item())


def test_plotting_changes_nothing(tmp_path, book_fit):
    """Neither the neuron's state_dict, nor the history, nor the data are touched."""
    x, y, neuron, history = book_fit
    state = {k: v.clone() for k, v in neuron.state_dict().items()}
    before = [t.clone() for t in (x, y, *history)]
    plot.plot_fit(tmp_path / "fit.png", x, y, history, size=(10, 3.5), dpi=30)
    plot.plot_limit_cycle(tmp_path / "cycle.png", x, y, history, size=(10, 4), dpi=30)
    for k, v in neuron.state_dict().items():
        assert torch.equal(v, state[k])
    for t, t0 in zip((x, y, *history), before):
        assert torch.equal(t, t0)


def test_one_more_epoch_closes_the_cycle_at_the_book_fit(book_fit, python_loop):
    """From the 100th epoch's (w, b), one more epoch returns to it: the end of an epoch is a fixed point."""
    x, y, _, history = book_fit
    ws, bs = plot.one_more_epoch(x, y, history)
    assert len(ws) == len(bs) == len(x) + 1
    assert (ws[0].item(), bs[0].item()) == (history.w[-1].item(), history.b[-1].item())
    assert ws[-1].item() == pytest.approx(ws[0].item(), rel=1e-10)
    assert bs[-1].item() == pytest.approx(bs[0].item(), rel=1e-10)
    # the same per-sample steps as the book's plain-Python loop, one epoch from the same start
    w1, b1 = python_loop(x[:10].tolist(), y[:10].tolist(), epochs=1, w=ws[0].item(), b=bs[0].item())
    assert (ws[10].item(), bs[10].item()) == pytest.approx((w1, b1), rel=1e-12)


def test_empty_history_is_a_clear_error(book_fit):
    x, y, _, _ = book_fit
    empty = tn.Neuron(dtype=torch.float64).fit(x, y, epochs=0, history=True)
    with pytest.raises(ValueError, match="empty"):
        plot.draw_loss_surface(axes(), x, y, empty)


def test_plots_from_the_device_the_fit_ran_on(tmp_path, device):
    x = torch.linspace(-1, 1, 30, dtype=torch.float64, device=device)
    y = 2 * x + 1 + 0.1 * torch.sin(7 * x)
    neuron = tn.Neuron(dtype=torch.float64, device=device)
    history = neuron.fit(x, y, epochs=10, lr=0.5, history=True)
    path = plot.plot_fit(tmp_path / "d.png", x, y, history, size=(10, 3.5), dpi=30)
    assert png_size(path) == (300, 105)
    assert neuron.w.device.type == device.type and history.w.device.type == device.type


@pytest.mark.parametrize(
    "call",
    [
        lambda tmp, x, y, h: plot.plot_fit(tmp / "f.png", x, y, h),
        lambda tmp, x, y, h: plot.plot_limit_cycle(tmp / "c.png", x, y, h),
        lambda tmp, x, y, h: plot.draw_data_and_lines(None, x, y, h),
        lambda tmp, x, y, h: plot.draw_loss_curve(None, h),
        lambda tmp, x, y, h: plot.draw_loss_surface(None, x, y, h),
    ],
    ids=["plot_fit", "plot_limit_cycle", "draw_data_and_lines", "draw_loss_curve", "draw_loss_surface"],
)
def test_missing_matplotlib_is_a_clear_import_error(monkeypatch, tmp_path, book_fit, call):
    x, y, _, history = book_fit
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` sees when it is absent
    with pytest.raises(ImportError, match=r"pip install 'torch_neuron\[plot\]'"):
        call(tmp_path, x, y, history)
    assert not (tmp_path / "f.png").exists()


# --- lang: English by default, Korean in NanumGothic from the ko extra, the caller's rcParams untouched ---

HANGUL = re.compile("[\uac00-\ud7a3]")
GLYPH_MISSING = r"(?s).*Glyph.*missing from font"


@contextlib.contextmanager
def no_missing_glyph(caplog):
    """Fail on every glyph matplotlib would draw as a box: the 'Glyph … missing from font' UserWarning (plain
    text) is an error, and so is the "Font 'default' does not have a glyph" log record (text with $…$ math)."""
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("error")
        yield
    assert not [r.getMessage() for r in caplog.records if "glyph" in r.getMessage()]


def korean_font_installed():
    try:
        fonts.korean_font_path()
    except ImportError:
        return False
    return True


needs_ko = pytest.mark.skipif(
    not korean_font_installed(), reason="the ko extra (koreanize-matplotlib) is not installed"
)


def all_text(fig):
    """Every non-empty string drawn on the figure: titles, labels, legends, annotations, captions."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def test_words_have_the_same_keys_and_fields_in_both_languages():
    fields = {
        lang: {k: sorted(f for _, f, _, _ in string.Formatter().parse(v) if f) for k, v in table.items()}
        for lang, table in labels.WORDS.items()
    }
    assert fields["ko"] == fields["en"]
    assert all(HANGUL.search(v) for v in labels.KO.values() if re.search("[A-Za-z]{4}", v.replace("SGD", "")))


def test_english_is_the_default_and_has_no_hangul(book_fit):
    x, y, _, history = book_fit
    ax = axes()
    plot.draw_loss_surface(ax, x, y, history, grid=20)
    texts = all_text(ax.figure)
    assert "Loss surface L(w, b) and the path of (w, b)" in texts
    assert not any(HANGUL.search(t) for t in texts)


@needs_ko
@pytest.mark.parametrize("draw", ["data", "loss", "surface"])
def test_lang_ko_writes_korean_titles_labels_and_legends(book_fit, draw):
    x, y, _, history = book_fit
    ax = axes()
    {
        "data": lambda: plot.draw_data_and_lines(ax, x, y, history, lang="ko"),
        "loss": lambda: plot.draw_loss_curve(ax, history, best=2000.0, lang="ko"),
        "surface": lambda: plot.draw_loss_surface(ax, x, y, history, grid=20, lang="ko"),
    }[draw]()
    assert HANGUL.search(ax.get_title())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend and all(HANGUL.search(t) or t.startswith("$") for t in legend[:1])
    assert any(HANGUL.search(t) for t in legend)


@needs_ko
def test_korean_panels_on_axes_made_outside_are_drawn_in_nanumgothic(tmp_path, book_fit, caplog):
    """An Axes' title is made with the Axes, in the default font: the panel must give it the Korean one."""
    from matplotlib import font_manager

    x, y, _, history = book_fit
    fig = Figure(figsize=(12, 3.5), dpi=30)
    ax_data, ax_loss, ax_surf = fig.subplots(1, 3)
    plot.draw_data_and_lines(ax_data, x, y, history, lang="ko")
    plot.draw_loss_curve(ax_loss, history, lang="ko")
    plot.draw_loss_surface(ax_surf, x, y, history, grid=20, lang="ko")
    for ax in (ax_data, ax_loss, ax_surf):
        assert font_manager.findfont(ax.title.get_fontproperties()) == fonts.korean_font_path()
    with no_missing_glyph(caplog):
        fig.savefig(tmp_path / "panels.png")  # outside any rc_context


@needs_ko
@pytest.mark.parametrize("picture", ["fit", "limit_cycle"])
def test_korean_pictures_have_no_missing_glyph(tmp_path, book_fit, picture, caplog):
    """matplotlib warns for every character it draws as a box: here an error (a negative b puts a minus sign
    into the equations, the sign NanumGothic lacks)."""
    x, y, _, history = book_fit
    history = history._replace(b=-history.b)
    with no_missing_glyph(caplog):
        if picture == "fit":
            plot.plot_fit(tmp_path / "k.png", x, y, history, size=(12, 4), dpi=40, lang="ko")
        else:
            plot.plot_limit_cycle(tmp_path / "k.png", x, y, history, size=(12, 4), dpi=40, lang="ko")
    assert png_size(tmp_path / "k.png") == (480, 160)


@pytest.mark.parametrize("text", ["손실 곡면", "$\\hat{y}$ = 914x + 123 손실"], ids=["plain", "math"])
def test_the_glyph_check_can_fail(tmp_path, caplog, text):
    """The control for the tests above: Korean in the default font is caught, in plain text and with $…$."""
    fig = Figure()
    fig.text(0.5, 0.5, text)
    with pytest.raises(AssertionError) if "$" in text else pytest.raises(UserWarning, match=GLYPH_MISSING):
        with no_missing_glyph(caplog):
            fig.savefig(tmp_path / "boxes.png")


@needs_ko
def test_importing_and_drawing_leave_the_global_rcparams_as_they_were(tmp_path):
    """In a fresh interpreter: rcParams after importing every module and drawing in Korean = before."""
    code = f"""
import sys, matplotlib
before = dict(matplotlib.rcParams)
import torch_neuron, torch_neuron.plot, torch_neuron.plot.fonts, torch_neuron.plot.animate
x = torch_neuron.load_diabetes().data[:, 2]; y = torch_neuron.load_diabetes().target
h = torch_neuron.Neuron().fit(x, y, epochs=2, history=True)
torch_neuron.plot.plot_fit({str(tmp_path / "k.png")!r}, x, y, h, size=(8, 3), dpi=30, lang="ko")
assert dict(matplotlib.rcParams) == before, "rcParams changed"
assert "koreanize_matplotlib" not in sys.modules, "the font package was imported (it sets rcParams)"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_missing_korean_font_is_a_clear_error_naming_the_extra(monkeypatch, tmp_path, book_fit):
    x, y, _, history = book_fit
    monkeypatch.setitem(sys.modules, fonts.FONT_PACKAGE, None)  # what find_spec sees when it is not installed
    with pytest.raises(ImportError, match=re.escape("pip install 'torch_neuron[ko]'")):
        plot.plot_fit(tmp_path / "k.png", x, y, history, lang="ko")
    assert not (tmp_path / "k.png").exists()


def test_an_unknown_lang_is_a_clear_error(tmp_path, book_fit):
    x, y, _, history = book_fit
    with pytest.raises(ValueError, match="lang must be one of 'en', 'ko', got 'fr'"):
        plot.plot_fit(tmp_path / "f.png", x, y, history, lang="fr")
    assert not (tmp_path / "f.png").exists()


@needs_ko
def test_train_plot_lang_ko_draws_korean_without_missing_glyphs(tmp_path, capsys, caplog):
    with no_missing_glyph(caplog), pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "3", "--plot", str(tmp_path / "k.png"), "--lang", "ko"])
    assert exit_info.value.code == 0
    assert png_size(tmp_path / "k.png") == (1500, 450)
    assert f"그림: {tmp_path / 'k.png'}" in capsys.readouterr().out  # --lang ko prints in Korean too


def test_train_lang_ko_without_the_font_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, fonts.FONT_PACKAGE, None)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--plot", str(tmp_path / "k.png"), "--lang", "ko"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert err.startswith("torch-neuron: error: ") and err.count("\n") == 1
    assert "pip install 'torch_neuron[ko]'" in err
    assert not (tmp_path / "k.png").exists()
