"""Pictures of a fit: the data with its fitted lines, the loss per epoch, and the path of (w, b) on the loss surface.

matplotlib is an optional extra (pip install 'torch_neuron[plot]'), imported only when a picture is drawn.
The figures are matplotlib.figure.Figure objects on the Agg canvas, never pyplot: no display is needed and the
caller's pyplot backend and state are left alone. Nothing here changes the neuron, the data or the history.
lang='ko' writes every title, label, legend and caption in Korean, in the NanumGothic font of the optional
extra (pip install 'torch_neuron[ko]'), applied inside matplotlib.rc_context only (plot/fonts.py).
explore() is the live version in Jupyter or Colab: sliders that refit and redraw (pip install 'torch_neuron[notebook]').
"""

from .animate import animate_fit, descent, draw_descent
from .explorer import Explorer, draw_explorer
from .limit_cycle import one_more_epoch, plot_limit_cycle
from .panels import draw_data_and_lines, draw_loss_curve, draw_loss_surface, plot_fit, run_title
from .sliders import explore

__all__ = [
    "Explorer",
    "animate_fit",
    "descent",
    "draw_data_and_lines",
    "draw_descent",
    "draw_explorer",
    "draw_loss_curve",
    "draw_loss_surface",
    "explore",
    "one_more_epoch",
    "plot_fit",
    "plot_limit_cycle",
    "run_title",
]
