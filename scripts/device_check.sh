#!/usr/bin/env bash
# One prepared run on a GPU machine: the whole test suite (CUDA cases included), then the GPU benchmark.
# Uses the machine's own python3 (PyTorch + Triton preinstalled there); results go under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/torch_neuron_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, triton; print('torch', torch.__version__, '| triton', triton.__version__, '|', torch.cuda.get_device_name(0))"
} 2>&1 | tee "$OUT/device.txt"
timeout "${TEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -rs 2>&1 | tee "$OUT/tests.txt"
timeout "${BENCH_TIMEOUT:-240}" python3 scripts/bench.py --device cuda \
  --json "$OUT/bench_gpu.json" --markdown "$OUT/bench_gpu.md" 2>&1 | tee "$OUT/bench_gpu.txt"
