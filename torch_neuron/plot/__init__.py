"""Pictures of a fit: the data with its fitted lines, the loss per epoch, and the path of (w, b) on the loss surface.

matplotlib is an optional extra (pip install 'torch_neuron[plot]'), imported only when a picture is drawn.
The figures are matplotlib.figure.Figure objects on the Agg canvas, never pyplot: no display is needed and the
caller's pyplot backend and state are left alone. Nothing here changes the neuron, the data or the history.
lang='ko' writes every title, label, legend and caption in Korean, in the NanumGothic font of the optional
extra (pip install 'torch_neuron[ko]'), applied inside matplotlib.rc_context only (plot/fonts.py).
"""
from .animate import animate_fit, descent, draw_descent
from .limit_cycle import one_more_epoch, plot_limit_cycle
from .panels import draw_data_and_lines, draw_loss_curve, draw_loss_surface, plot_fit, run_title

__all__ = ["plot_fit", "plot_limit_cycle", "animate_fit", "draw_data_and_lines", "draw_loss_curve",
           "draw_loss_surface", "draw_descent", "descent", "one_more_epoch", "run_title"]
