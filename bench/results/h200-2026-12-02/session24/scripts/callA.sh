#!/usr/bin/env bash
# session 24 call A: the Llama-3.1-8B MLP's parts over its own operands (scripts/mlp_parts.py) with session 23's
# tuned fused and plain bundles (.gpu/s23/t), at M = 4, 8, 16; then bench/mlp_fused.py at the same M.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
S=bench/results/h200-2026-12-02/session24/scripts
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 300 python3 $S/mlp_parts.py .gpu/s23/t/llama-3.1-8b-fused.agb .gpu/s23/t/llama-3.1-8b.agb --m 4,8,16 \
  -o $OUT/mlp_parts.json > $OUT/mlp_parts.txt 2>&1
echo "parts rc=$?"; grep -v "^aotgemm" $OUT/mlp_parts.txt | tail -150; date -u
