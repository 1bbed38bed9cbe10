"""The explorer's sliders: ipywidgets (the `notebook` extra) wired to Explorer.update, the figure shown as PNG."""

import math
from collections.abc import Sequence
from typing import Any

from .canvas import require_matplotlib
from .explorer import BATCHES, LR_RANGE, Drawn, Explorer
from .fonts import check_lang
from .labels import words

MISSING_WIDGETS = "the explorer needs ipywidgets: pip install 'torch_neuron[notebook]'"


def require_widgets() -> Any:
    """The ipywidgets module (and matplotlib), or an ImportError naming the `notebook` extra."""
    try:
        import ipywidgets

        require_matplotlib()
    except ImportError as e:
        raise ImportError(MISSING_WIDGETS) from e
    return ipywidgets


def batch_choices(n: int, batch_size: int) -> list[int]:
    """The batch sizes a slider offers: 1, 2, 5, 10 … below n, n itself (full-batch GD) and batch_size."""
    return sorted({*(k for k in BATCHES if k < n), n, min(batch_size, n)})


def explore(
    x: Any,
    y: Any,
    *,
    lang: str = "en",
    lr: float = 1.0,
    epochs: int = 100,
    batch_size: int = 1,
    shuffle: bool = False,
    seed: int = 0,
    w0: float = 1.0,
    b0: float = 1.0,
    xlabel: str = "x",
    ylabel: str = "y",
    lr_range: Sequence[float] = LR_RANGE,
    max_epochs: int = 300,
    size: tuple[float, float] = (14, 4.6),
    dpi: int = 72,
    live: bool = True,
) -> Any:
    """An ipywidgets box for Jupyter or Colab: sliders for lr (log scale), epochs, batch size, shuffle and seed.

    Each change refits by per-batch gradient descent from (w0, b0), w ← w − lr·mean(x·err), b ← b − lr·mean(err),
    and redraws the three panels (Explorer.update). live: redraw while a slider moves, else when it is let go.
    lang 'ko' writes the figure and the controls in Korean. The box's .explorer is the Explorer (its .drawn:
    what the last redraw drew), .controls the widgets by setting name, .redraw() redraws now.
    """
    widgets = require_widgets()
    t = words(check_lang(lang))
    explorer = Explorer(x, y, w0=w0, b0=b0, xlabel=xlabel, ylabel=ylabel, size=size, dpi=dpi, lang=lang)
    n = explorer.x.shape[-1]
    wide = {"description_width": "initial"}
    lo, hi = (math.log10(v) for v in lr_range)
    controls = {
        "lr": widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=lo,
            max=hi,
            step=0.01,
            readout_format=".3g",
            description=t["lr_slider"],
            style=wide,
            continuous_update=live,
        ),
        "epochs": widgets.IntSlider(
            value=epochs,
            min=1,
            max=max(max_epochs, epochs),
            description=t["epochs_slider"],
            style=wide,
            continuous_update=live,
        ),
        "batch_size": widgets.SelectionSlider(
            options=batch_choices(n, batch_size),
            value=min(batch_size, n),
            description=t["batch_slider"],
            style=wide,
            continuous_update=live,
        ),
        "shuffle": widgets.Checkbox(value=shuffle, description=t["shuffle_box"], indent=False),
        "seed": widgets.IntSlider(
            value=seed, min=0, max=max(99, seed), description=t["seed_box"], style=wide, continuous_update=live
        ),
    }
    image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width=f"{round(size[0] * dpi)}px"))
    box = widgets.VBox(
        [
            widgets.HBox([controls["lr"], controls["epochs"], controls["batch_size"]]),
            widgets.HBox([controls["shuffle"], controls["seed"]]),
            image,
        ]
    )

    def redraw(_change: Any = None) -> Drawn:
        settings = {name: control.value for name, control in controls.items()}
        controls["seed"].disabled = not settings["shuffle"]  # the seed only picks the shuffled orders
        drawn = explorer.update(**settings)
        image.value = explorer.png()
        return drawn

    for control in controls.values():
        control.observe(redraw, names="value")
    box.explorer, box.controls, box.redraw = explorer, controls, redraw
    redraw()
    return box
