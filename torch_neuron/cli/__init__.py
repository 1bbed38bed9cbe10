"""The torch-neuron command: train, check (the self-check) and predict."""

from .main import main

__all__ = ["main"]
