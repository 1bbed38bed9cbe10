#!/usr/bin/env bash
# One prepared run on a lent GPU machine (the device tool): CUDA tests, then the GPU benchmark.
# Uses the machine's own python3 (PyTorch + Triton preinstalled there); results go under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/torch_neuron_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, triton; print('torch', torch.__version__, '| triton', triton.__version__, '|', torch.cuda.get_device_name(0))"
} 2>&1 | tee "$OUT/device.txt"
timeout "${TEST_TIMEOUT:-200}" python3 -m pytest -q -p no:cacheprovider -m cuda -rs 2>&1 | tee "$OUT/cuda_tests.txt"
timeout "${BENCH_TIMEOUT:-240}" python3 scripts/bench.py --device cuda --skip-slow \
  --json "$OUT/bench_gpu.json" --markdown "$OUT/bench_gpu.md" 2>&1 | tee "$OUT/bench_gpu.txt"
