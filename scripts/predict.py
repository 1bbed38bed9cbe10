#!/usr/bin/env python
"""Predict with a saved neuron: the same as `torch-neuron predict` (see --help)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs from a checkout without installing
from torch_neuron.cli import main  # noqa: E402

main(["predict", *sys.argv[1:]])
