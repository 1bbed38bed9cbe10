"""Data: the bundled diabetes set the book trains on, and the file readers."""
from .diabetes import Dataset, load_diabetes

__all__ = ["Dataset", "load_diabetes"]
