"""torch_neuron.plot.animate_fit: an animated GIF of the descent, drawn from the package's own trajectory.

Step by step through epoch 1 (the book's per-sample updates), then epoch by epoch (the fit's history);
at least 20 frames, under 3 MB, in English or Korean, changing nothing.
"""

import sys
import warnings

import numpy as np
import pytest
import torch

import torch_neuron as tn

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow comes with matplotlib)
from test_plot import no_missing_glyph  # noqa: E402

from torch_neuron import plot  # noqa: E402
from torch_neuron.cli import main  # noqa: E402
from torch_neuron.plot import animate, fonts  # noqa: E402

MAX_BYTES = 3 * 2**20
SMALL = dict(size=(6, 2.6), dpi=40)  # a quick GIF for the tests: 240 × 104 pixels


@pytest.fixture(scope="module")
def book_fit(bmi):
    """The book's fit in float64 with its history: (x, y, neuron, history)."""
    x, y = bmi
    neuron = tn.Neuron(dtype=torch.float64)
    return x, y, neuron, neuron.fit(x, y, history=True)


def first_epoch_in_plain_python(xs, ys, w=1.0, b=1.0):
    """(w, b) after each sample of the book's first epoch, from the source text's loop: lists of n + 1 floats."""
    ws, bs = [w], [b]
    for x_i, y_i in zip(xs, ys):
        err = -(y_i - (x_i * w + b))
        w -= x_i * err
        b -= 1 * err
        ws.append(w)
        bs.append(b)
    return ws, bs


def gif_frames(path):
    with Image.open(path) as im:
        return im.n_frames, im.size, im.is_animated


def test_animate_fit_is_re_exported_from_plot():
    assert plot.animate_fit is animate.animate_fit


@pytest.fixture(scope="module")
def small_gif(tmp_path_factory, book_fit):
    """One quick GIF of the book's fit, drawn with every warning an error: (path, state before, state after)."""
    x, y, neuron, history = book_fit
    state = lambda: [t.clone() for t in (x, y, *history, *neuron.state_dict().values())]  # noqa: E731
    before = state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot.animate_fit(tmp_path_factory.mktemp("gif") / "a.gif", x, y, history, **SMALL)
    return path, before, state()


def test_writes_an_animated_gif_of_at_least_20_frames_under_3_mb(small_gif):
    path, _, _ = small_gif
    assert path.name == "a.gif"
    frames, size, animated = gif_frames(path)
    assert animated and frames >= 20
    assert size == (240, 104)
    assert path.stat().st_size < MAX_BYTES


def test_animating_changes_neither_the_neuron_nor_the_history_nor_the_data(small_gif):
    _, before, after = small_gif
    assert len(before) == len(after) == 7  # x, y, history (w, b, loss), state_dict (w, b)
    for t0, t in zip(before, after):
        assert torch.equal(t, t0)


def test_the_path_is_the_book_loop_through_epoch_1_then_the_history(book_fit):
    """The drawn (w, b): every per-sample step of epoch 1 (plain Python), then the end of each later epoch."""
    x, y, _, history = book_fit
    ws, bs = first_epoch_in_plain_python(x.tolist(), y.tolist())
    path = animate.descent(x, y, history)
    update, art = animate.draw_descent(Figure(), x, y, path)
    update(len(path.w) - 1)
    drawn_w = [*art["steps"].get_xdata(), *art["epochs"].get_xdata()[1:]]
    drawn_b = [*art["steps"].get_ydata(), *art["epochs"].get_ydata()[1:]]
    np.testing.assert_array_equal(drawn_w, [*ws, *history.w[1:].tolist()])
    np.testing.assert_array_equal(drawn_b, [*bs, *history.b[1:].tolist()])
    assert art["epochs"].get_xdata()[0] == pytest.approx(history.w[0].item(), rel=1e-12)  # where epoch 1 ends
    assert len(drawn_w) == 1 + len(x) + len(history.w) - 1


def test_each_frame_of_epoch_1_draws_the_line_after_that_sample_and_marks_the_sample(book_fit):
    x, y, _, history = book_fit
    ws, bs = first_epoch_in_plain_python(x.tolist(), y.tolist())
    path = animate.descent(x, y, history)
    update, art = animate.draw_descent(Figure(), x, y, path)
    for k in (1, 2, 37, len(x)):
        update(k)
        ends = np.asarray(art["line"].get_xdata())
        np.testing.assert_allclose(art["line"].get_ydata(), ws[k] * ends + bs[k], rtol=1e-12)
        assert (art["used"].get_xdata()[0], art["used"].get_ydata()[0]) == (x[k - 1].item(), y[k - 1].item())
        assert (art["point"].get_xdata()[0], art["point"].get_ydata()[0]) == (ws[k], bs[k])
        assert len(art["steps"].get_xdata()) == k + 1
        assert len(art["epochs"].get_xdata()) == (1 if k == len(x) else 0)  # from the end of epoch 1 on
    update(len(path.w) - 1)  # after the last epoch: no sample is marked
    assert len(art["used"].get_xdata()) == 0


def test_frames_start_at_the_start_end_at_the_last_epoch_and_pass_the_end_of_epoch_1(book_fit):
    x, y, _, history = book_fit
    path = animate.descent(x, y, history)
    frames = animate.frame_indices(path)
    assert frames[0] == 0 and frames[-1] == len(path.w) - 1
    assert all(a <= b for a, b in zip(frames, frames[1:]))
    assert len(x) in frames  # the end of epoch 1
    assert len(set(frames)) >= 20


def test_mini_batches_step_batch_by_batch(bmi):
    x, y = bmi
    history = tn.Neuron(dtype=torch.float64).fit(x, y, epochs=5, lr=0.5, batch_size=50, history=True)
    path = animate.descent(x, y, history, lr=0.5, batch_size=50)
    assert int(path.step.max()) == 9  # 442 samples: 8 batches of 50 and one of 42
    assert path.w[9].item() == pytest.approx(history.w[0].item(), rel=1e-12)
    w, b = torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    w, b = tn.sgd_step(w, b, x[:50], y[:50], 0.5)
    assert (path.w[1].item(), path.b[1].item()) == (w.item(), b.item())


def test_a_float32_fit_is_held_to_float32_precision(bmi):
    x, y = bmi
    history = tn.Neuron(dtype=torch.float32).fit(x.float(), y.float(), epochs=3, history=True)
    path = animate.descent(x.float(), y.float(), history)  # no error: epoch 1 agrees to √eps of float32
    assert path.w[len(x)].item() == pytest.approx(history.w[0].item(), rel=1e-4)
    assert path.w.dtype == torch.float64


@pytest.mark.parametrize(
    "settings", [dict(shuffle=True), dict(lr=0.5), dict(batch_size=2)], ids=["shuffled", "other-lr", "other-batch"]
)
def test_a_history_of_other_steps_is_a_clear_error(tmp_path, bmi, settings):
    x, y = bmi
    history = tn.Neuron(dtype=torch.float64).fit(x, y, epochs=3, history=True, **settings)
    with pytest.raises(ValueError, match="without shuffle, with the same lr and batch size"):
        plot.animate_fit(tmp_path / "a.gif", x, y, history, **SMALL)
    assert not (tmp_path / "a.gif").exists()


def test_korean_frames_have_no_missing_glyph(tmp_path, book_fit, caplog):
    try:
        fonts.korean_font_path()
    except ImportError:
        pytest.skip("the ko extra (koreanize-matplotlib) is not installed")
    x, y, _, history = book_fit
    with no_missing_glyph(caplog):  # epoch 1 passes through negative b: minus signs in the equations
        plot.animate_fit(tmp_path / "ko.gif", x, y, history, lang="ko", **SMALL)
    assert gif_frames(tmp_path / "ko.gif")[0] >= 20


def test_missing_matplotlib_is_a_clear_import_error(monkeypatch, tmp_path, book_fit):
    x, y, _, history = book_fit
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'torch_neuron\[plot\]'"):
        plot.animate_fit(tmp_path / "a.gif", x, y, history)
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.slow
def test_train_animate_writes_the_full_size_gif(tmp_path, capsys):
    """The command as the README shows it: the default size, ≥ 20 frames, < 3 MB."""
    path = tmp_path / "a.gif"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--animate", str(path)])
    assert exit_info.value.code == 0
    assert f"animation: {path}" in capsys.readouterr().out
    frames, size, animated = gif_frames(path)
    assert animated and frames >= 20 and size == (792, 331)
    assert path.stat().st_size < MAX_BYTES


def test_train_animate_with_shuffle_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "2", "--shuffle", "--animate", str(tmp_path / "a.gif")])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert err.startswith("torch-neuron: error: history does not start with") and err.count("\n") == 1
    assert not (tmp_path / "a.gif").exists()


# --- the formats: .gif always (Pillow), .mp4 where matplotlib finds ffmpeg; anything else is a clear error ---


@pytest.fixture
def no_ffmpeg(monkeypatch):
    from matplotlib import animation as mpl_animation

    monkeypatch.setattr(mpl_animation.writers, "is_available", lambda name: False)


@pytest.mark.parametrize("name", ["a.mp4", "a.MP4", "a.webp", "a.avi", "a"])
def test_a_format_it_cannot_write_is_a_value_error_listing_the_formats(tmp_path, book_fit, no_ffmpeg, name):
    x, y, _, _ = book_fit
    shuffled = tn.Neuron(dtype=torch.float64).fit(x, y, epochs=2, shuffle=True, history=True)  # also an error, later
    with pytest.raises(ValueError, match=r"the formats written here are \.gif \(Pillow\); \.mp4 needs ffmpeg"):
        plot.animate_fit(tmp_path / name, x, y, shuffled, **SMALL)
    assert not list(tmp_path.iterdir())


def test_mp4_is_written_by_ffmpeg_where_matplotlib_finds_it(monkeypatch):
    from matplotlib import animation as mpl_animation

    monkeypatch.setattr(mpl_animation.writers, "is_available", lambda name: name == "ffmpeg")
    assert isinstance(animate.animation_writer("a.mp4"), mpl_animation.FFMpegWriter)
    assert isinstance(animate.animation_writer("a.gif"), mpl_animation.PillowWriter)
    with pytest.raises(
        ValueError,
        match=r"as a \.webp file: the formats written here are \.gif \(Pillow\), "
        r"\.mp4 \(ffmpeg\)$",
    ):
        animate.animation_format("a.webp")


def test_a_real_mp4_where_ffmpeg_is_installed(tmp_path, book_fit):
    from matplotlib import animation as mpl_animation

    if not mpl_animation.writers.is_available("ffmpeg"):
        pytest.skip("matplotlib finds no ffmpeg here")
    x, y, _, history = book_fit
    path = plot.animate_fit(tmp_path / "a.mp4", x, y, history, **SMALL)
    assert path.stat().st_size > 1000


def test_train_animate_mp4_without_ffmpeg_is_one_line_naming_the_formats(tmp_path, capsys, no_ffmpeg):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "2", "--animate", str(tmp_path / "a.mp4")])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert err.startswith("torch-neuron: error: cannot write an animation as a .mp4 file") and err.count("\n") == 1
    assert ".gif (Pillow)" in err
    assert not list(tmp_path.iterdir())
