"""Training: the front door (settings), fit and fit_chunks for many neurons, the loss from moments."""

from .divergence import TrainingDiverged
from .fitting import FitResult, History, epoch_losses, fit, fit_chunks

__all__ = ["fit", "fit_chunks", "FitResult", "History", "TrainingDiverged", "epoch_losses"]
