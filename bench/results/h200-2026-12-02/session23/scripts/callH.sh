#!/usr/bin/env bash
# session 23 call H: the Llama-3.1-8B MLP (bench/mlp_fused.py: gate_up + SwiGLU, then down + residual, against
# cuBLAS + Inductor-fused epilogues) with call F's tuned fused bundle (the coal designs; its tune took a fused
# gate_up kernel at M = 16), at M = 1, 4, 8, 16, 128 and 2048.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 100 python3 bench/mlp_fused.py .gpu/s23/t/llama-3.1-8b-fused.agb --m 1,4,8,16,128,2048 -o $OUT/mlp_tuned.json \
  > $OUT/mlp_tuned.txt 2>&1
echo "mlp rc=$?"; tail -12 $OUT/mlp_tuned.txt; date -u
