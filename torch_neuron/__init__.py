"""torch_neuron: the linear-regression neuron of "Do it! 딥러닝 입문" (ch. 3) in PyTorch, its backprop verified."""

from .data import load_diabetes
from .engines import ENGINE_NAMES
from .functional import backprop, forpass, sgd_step, squared_error
from .neuron import Neuron
from .neuron_function import NeuronFunction
from .training import FitResult, History, TrainingDiverged, epoch_losses, fit, fit_chunks

__all__ = [
    "Neuron",
    "NeuronFunction",
    "squared_error",
    "forpass",
    "backprop",
    "sgd_step",
    "fit",
    "fit_chunks",
    "FitResult",
    "History",
    "TrainingDiverged",
    "epoch_losses",
    "load_diabetes",
    "ENGINE_NAMES",
]
__version__ = "0.1.0"
