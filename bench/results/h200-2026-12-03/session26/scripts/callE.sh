#!/usr/bin/env bash
# session 26 call E: bench/torchao_fp8.py --compile static (one graph per M, as a server captures one CUDA graph per
# batch size), after call D's dynamic-M compile timed Inductor's quantization of x (layers of 30-111 ms at M = 8192
# with per-tensor scales, on both sides): the per-tensor and row-wise Llama-3.1-8B fp8 bundles, at fewer M (each
# M is a compile per layer and side).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/e26; rm -rf $R; mkdir -p $R/torchao
pack() { tar czf $OUT/e.tgz -C $R .; }
timeout 300 python3 bench/torchao_fp8.py .gpu/s25/t/llama-3.1-8b-fp8.agb --compile static --m 1,8,16,64,1024,8192 \
  -o $R/torchao/llama-3.1-8b-fp8.static.json > $R/torchao/llama-3.1-8b-fp8.static.txt 2>&1
echo "per tensor rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/llama-3.1-8b-fp8.static.txt | cut -c1-260; pack
timeout 240 python3 bench/torchao_fp8.py .gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb --compile static --m 1,16,64,1024 \
  -o $R/torchao/llama-3.1-8b-fp8-rowwise.static.json > $R/torchao/llama-3.1-8b-fp8-rowwise.static.txt 2>&1
echo "row-wise rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/llama-3.1-8b-fp8-rowwise.static.txt | cut -c1-260; pack
date -u
