#!/bin/bash
# epikern's GPU round: fused-epilogue kernel correctness, per-layer probe, MLP bench.
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
echo "== correctness (every decode kernel, every M in 1..max_m) =="
timeout 60 python3 tests/gpu/check_epilogues.py fused-mlp.agb; echo "rc=$?"
echo "== MLP bench =="
timeout 85 python3 bench/mlp_fused.py fused-mlp.agb --trials 10 -o "$OUT/mlp_fused.json"; echo "rc=$?"
echo "== per-layer probe M=1,8,16 =="
timeout 85 python3 bench/fused_epilogue_probe.py fused-mlp.agb --m 1,8,16 --trials 8 -o "$OUT/probe.json"; echo "rc=$?"
