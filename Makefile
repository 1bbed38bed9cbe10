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

# The second run puts the fused Triton kernel's tests through Triton's interpreter on the CPU, so a
# kernel bug fails here too, not only on a machine with a GPU (they skip where Triton is missing).
test: $(STAMP)
	$(BIN)/python -m pytest
	TRITON_INTERPRET=1 $(BIN)/python -m pytest -m fused

check: $(STAMP)
	$(BIN)/torch-neuron check

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) neuron.png
