"""Data: the bundled diabetes set the book trains on, and the file readers (CSV and Parquet, streamed)."""

import importlib

from .diabetes import Dataset, load_diabetes

_LAZY = {
    "csv_chunks": "stream",
    "parquet_chunks": "stream",
    "Stream": "stream",
    "CsvFile": "csv_reader",
    "ParquetData": "parquet_reader",
}


def __getattr__(name):  # pyarrow is imported when a file is read, not with the package
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Dataset", "load_diabetes", "csv_chunks", "parquet_chunks", "Stream", "CsvFile", "ParquetData"]
