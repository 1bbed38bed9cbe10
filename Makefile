# make train / make test: a virtual environment in .venv, the package installed into it, then the job.
# TORCH picks the torch requirement: CI pins the small CPU build (TORCH=torch==2.13.0);
# the default lets pip choose the build for your machine (CUDA where available).
PYTHON ?= python3
TORCH ?= torch
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/torch-neuron train --plot neuron.png

# ruff and mypy first (style and types), then the suite (its conformance tests run twice, with the compiled
# CPU kernel and with TORCH_NEURON_KERNEL=eager). Then the fused Triton kernel's tests run through Triton's
# interpreter on the CPU, so a kernel bug fails here too, not only on a machine with a GPU (they skip without Triton).
test: $(STAMP)
	$(BIN)/python -m ruff check torch_neuron tests scripts
	$(BIN)/python -m ruff format --check torch_neuron tests scripts
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest
	TRITON_INTERPRET=1 $(BIN)/python -m pytest -m fused

check: $(STAMP)
	$(BIN)/torch-neuron check

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) neuron.png
