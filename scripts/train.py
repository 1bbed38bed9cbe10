#!/usr/bin/env python
"""Train the book's neuron: the same as `torch-neuron train` (see --help)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs from a checkout without installing
from torch_neuron.cli import main  # noqa: E402

main(["train", *sys.argv[1:]])
