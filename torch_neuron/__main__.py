"""python -m torch_neuron: the torch-neuron command."""

from .cli import main

main()
