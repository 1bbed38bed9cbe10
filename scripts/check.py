#!/usr/bin/env python
"""Check the hand-written backprop and the engines: the same as `torch-neuron check`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs from a checkout without installing
from torch_neuron.cli import main  # noqa: E402

main(["check", *sys.argv[1:]])
