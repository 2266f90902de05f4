#!/usr/bin/env bash
# GPU call D (session 15): CUDA-core max_m 1 designs for the weights whose K the fixed fallback list could not
# split (decode_probe --simt-k: Qwen2.5-32B TP4's o and down, Qwen3-4B's qkv, gate_up, down, lm_head), checked at
# M = 1 against float32, then timed at M = 1 against cuBLAS and the max_m 8/16 kernels builds offer there.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/bf16
timeout 200 python3 bench/decode_probe.py run .gpu/s15/simtk --log $OUT/bf16 --ms 1,2 > $OUT/bf16/run.log 2>&1
echo "bf16 rc=$?"; grep -E "checks took|CRASH|wrong|M=" $OUT/bf16/run.log | cut -c1-150
sed -n '/^model = /,$p' $OUT/bf16/decode_probe.txt | head -30
date -u
