"""The live explorer: sliders for lr, epochs, batch size, shuffle and seed; each change refits and redraws.

Explorer.update(**settings) is the pure part a slider calls: it fits (tn.fit), draws the three panels of
panels.py with w, b and the loss written on the figure, and returns what it drew (Drawn). explore() wires it to
ipywidgets (the `notebook` extra): the Figure stays on its own Agg canvas, no pyplot, and is shown as PNG bytes
in an ipywidgets.Image. A diverged fit is caught and drawn where it blew up, step by step (blow_up).
"""

import io
from typing import Any, NamedTuple

from ..training import History, TrainingDiverged, fit
from .blowup import BLOWUP, blow_up
from .canvas import checked_data, equation, fmt_num, least_squares, loss_at, new_figure, require_matplotlib
from .fonts import check_lang, rc_context, set_font
from .labels import words
from .panels import draw_data_and_lines, draw_loss_curve, draw_loss_surface

LR_RANGE = (0.01, 4.0)  # the book's data diverges from lr ≈ 2 (per sample): the slider reaches well past it
BATCHES = (1, 2, 5, 10, 20, 50, 100, 200)


class Drawn(NamedTuple):
    """What Explorer.update drew: the last (w, b) and its loss, whether the fit diverged, and the figure's title.

    Not diverged: w, b, loss are tn.fit's (its last epoch). Diverged: those of the last step drawn (the
    blow-up); steps is then how many steps of the book's loop the panels show (0 otherwise).
    """

    w: float
    b: float
    loss: float
    diverged: bool
    steps: int
    title: str


def settings_text(lr: float, epochs: int, batch_size: int, shuffle: bool, seed: int, *, lang: str = "en") -> str:
    """The settings as the figure's title says them: 'lr 0.1, 100 epochs, batch 1, samples in order'."""
    t = words(lang)
    order = t["shuffled"].format(seed=seed) if shuffle else t["in_order"]
    return t["explore_settings"].format(lr=lr, epochs=epochs, batch=batch_size, order=order)


def _as_steps(panels: dict, history: History, t: dict, *, blew_up: bool) -> None:
    """Relabel the three panels drawn from a History of steps (not epochs): legends, axis and titles."""
    (ax_data, data), (ax_loss, loss), (ax_surf, surf) = panels["data"], panels["loss"], panels["surface"]
    hw, hb = history.w.tolist(), history.b.tolist()
    data["first"].set_label(t["after_step"].format(step=1, eq=equation(hw[0], hb[0])))
    data["last"].set_label(t["after_step"].format(step=len(hw), eq=equation(hw[-1], hb[-1])))
    ax_data.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
    loss["loss"].set_label(t["loss_per_step"])
    ax_loss.set_xlabel(t["step"])
    ax_loss.set_title(t["loss_title_steps"].format(loss=fmt_num(float(history.loss[-1]))))
    ax_loss.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
    surf["path"].set_label(t["path_each_step"])
    surf["sgd"].set_marker("X")
    last = t["blew_up"] if blew_up else t["last_step"]
    surf["sgd"].set_label(last.format(step=len(hw), w=hw[-1], b=hb[-1]))
    for text in ax_surf.texts:
        if text.get_text() == t["epoch_1"]:
            text.set_text(t["step_1"])
    ax_surf.legend(loc="lower right", fontsize=8, framealpha=0.92)


def _wipe(ax: Any) -> None:
    """Remove what the last update drew on ax, but keep the Axes and its ticks: making them anew is most of a
    redraw's time (a new Axes makes every tick's lines and texts again)."""
    for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if ax.get_yscale() != "linear":  # draw_loss_curve sets log when it needs it, never back
        ax.set_yscale("linear")
    ax.set_autoscale_on(True)


class Explorer:
    """The explorer's figure and its pure update: settings → a fit → three panels redrawn → Drawn.

    Holds the data (float64 copies), one Agg Figure (no pyplot) and its three Axes, made once: update()
    removes what it drew last and draws anew on the same Axes. png() renders the figure for a browser.
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        *,
        w0: float = 1.0,
        b0: float = 1.0,
        xlabel: str = "x",
        ylabel: str = "y",
        size: tuple[float, float] = (14, 4.6),
        dpi: int = 72,
        grid: int = 100,
        lang: str = "en",
    ) -> None:
        require_matplotlib()
        import matplotlib

        self.t = words(check_lang(lang))
        self.x, self.y = checked_data(x, y)
        self.w0, self.b0, self.xlabel, self.ylabel, self.grid, self.lang = w0, b0, xlabel, ylabel, grid, lang
        self.start = loss_at(self.x, self.y, w0, b0)  # L(w0, b0): the yardstick of a blow-up
        self.best = loss_at(self.x, self.y, *least_squares(self.x, self.y))
        self.figure = new_figure(size, dpi)
        # fixed margins, not constrained layout: its extra pass over every text makes a redraw half as slow again
        self.figure.set_layout_engine(None)
        # titles at a fixed height (titley 1.0): placing them anew costs every redraw a pass over the tick labels
        with rc_context(lang), matplotlib.rc_context({"axes.titley": 1.0}):
            self.axes = self.figure.subplots(1, 3, width_ratios=[1, 1, 1.15])
        self.drawn: Drawn | None = None

    def fit(self, *, lr: float, epochs: int, batch_size: int, shuffle: bool, seed: int) -> History | None:
        """tn.fit's History from (w0, b0), or None where it diverged: it raised TrainingDiverged, or its loss
        L = mean ½(y − w·x − b)² passed BLOWUP × L(w0, b0) (growing, not yet overflowing)."""
        try:
            history = fit(
                self.x,
                self.y,
                w=self.w0,
                b=self.b0,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                shuffle=shuffle,
                seed=seed,
                history=True,
            ).history
        except TrainingDiverged:
            return None
        assert history is not None and history.loss is not None  # history=True: the fit keeps w, b and the loss
        return history if float(history.loss[-1]) <= BLOWUP * self.start else None

    def update(
        self, *, lr: float = 1.0, epochs: int = 100, batch_size: int = 1, shuffle: bool = False, seed: int = 0
    ) -> Drawn:
        """Fit with these settings and redraw: data and lines | loss per epoch | path on the loss surface.

        The title gives the settings and the fit's w, b and loss L = mean ½(y − w·x − b)². A diverged fit is
        drawn step by step up to its blow-up (blow_up), with a caption saying so.
        """
        t, x, y, lang = self.t, self.x, self.y, self.lang
        title = settings_text(lr, epochs, batch_size, shuffle, seed, lang=lang)
        history = self.fit(lr=lr, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed)
        diverged = history is None
        steps, passed, per_epoch = 0, False, 1
        if history is None:
            history, per_epoch, passed = blow_up(
                x, y, w0=self.w0, b0=self.b0, lr=lr, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed
            )
            steps = len(history.w)
        assert history.loss is not None  # both kinds of History here carry the loss
        w, b, loss = float(history.w[-1]), float(history.b[-1]), float(history.loss[-1])
        ax_data, ax_loss, ax_surf = self.axes
        fig = self.figure
        with rc_context(lang):
            for ax in self.axes:
                _wipe(ax)
            panels = {
                "data": (
                    ax_data,
                    draw_data_and_lines(ax_data, x, y, history, xlabel=self.xlabel, ylabel=self.ylabel, lang=lang),
                ),
                "loss": (ax_loss, draw_loss_curve(ax_loss, history, best=self.best, lang=lang)),
                "surface": (
                    ax_surf,
                    draw_loss_surface(
                        ax_surf, x, y, history, w0=self.w0, b0=self.b0, grid=self.grid, colorbar=False, lang=lang
                    ),
                ),
            }
            if diverged:
                _as_steps(panels, history, t, blew_up=passed)
                title = t["explore_diverged"].format(settings=title)
                if passed:
                    caption = t["blowup_caption"].format(
                        limit=BLOWUP, step=steps, epoch=(steps - 1) // per_epoch + 1, w=w, b=b, loss=loss
                    )
                else:
                    caption = t["growth_caption"].format(step=steps, ratio=loss / self.start, w=w, b=b)
            else:
                title = t["explore_result"].format(settings=title, w=w, b=b, loss=loss)
                caption = ""
            self._limits(history, diverged)
            fig.suptitle(title, fontsize=12.5)
            fig.supxlabel(caption, fontsize=9.5, color="#922b21", linespacing=1.4)
            # room under the panels for the caption's two lines only when there is one
            fig.subplots_adjust(left=0.05, right=0.985, top=0.88, bottom=0.2 if caption else 0.11, wspace=0.26)
            set_font(fig, lang)  # every text on the figure, the Axes' included
        self.drawn = Drawn(w, b, loss, diverged, steps, title)
        return self.drawn

    def _limits(self, history: History, diverged: bool) -> None:
        """The data panel's and the loss panel's view: the scatter is a Collection, which relim cannot see."""
        ax_data, ax_loss, _ = self.axes
        xs, ys = self.x.numpy(), self.y.numpy()
        x_lo, x_hi = xs.min(), xs.max()
        y_lo, y_hi = ys.min(), ys.max()
        if not diverged:  # the lines in view too; a diverged run's lines fly off while the data stays put
            ends = [float(history.w[k]) * e + float(history.b[k]) for k in (0, -1) for e in (x_lo, x_hi)]
            y_lo, y_hi = min(y_lo, *ends), max(y_hi, *ends)
        pad = 0.25 if diverged else 0.05
        ax_data.set_xlim(x_lo - 0.05 * (x_hi - x_lo), x_hi + 0.05 * (x_hi - x_lo))
        ax_data.set_ylim(y_lo - pad * (y_hi - y_lo), y_hi + pad * (y_hi - y_lo))
        ax_loss.relim()  # from the lines drawn now only, not the last update's
        ax_loss.autoscale_view()

    def png(self) -> bytes:
        """The figure as PNG bytes, drawn in lang's font (tick labels are made at draw time)."""
        import matplotlib
        import numpy as np
        from PIL import Image  # Pillow: a dependency of matplotlib

        # no hinting: about a fifth less time per redraw; at the explorer's size the text is as readable
        with rc_context(self.lang), matplotlib.rc_context({"text.hinting": "no_hinting"}):
            self.figure.canvas.draw()
        buffer = io.BytesIO()
        rgb = np.asarray(self.figure.canvas.buffer_rgba())[..., :3]
        # zlib level 1: two thirds of the encoding time of the default 6, and no larger for a figure like this
        Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def draw_explorer(
    x: Any,
    y: Any,
    *,
    lr: float = 1.0,
    epochs: int = 100,
    batch_size: int = 1,
    shuffle: bool = False,
    seed: int = 0,
    lang: str = "en",
    **figure: Any,
) -> tuple[Explorer, Drawn]:
    """One explorer figure at these settings → (Explorer, Drawn): for a script or a saved picture.

    figure: Explorer's keywords (w0, b0, xlabel, ylabel, size, dpi, grid). explorer.png() is the picture's PNG bytes.
    """
    explorer = Explorer(x, y, lang=lang, **figure)
    return explorer, explorer.update(lr=lr, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed)
