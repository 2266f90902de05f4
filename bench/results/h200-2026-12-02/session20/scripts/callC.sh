#!/usr/bin/env bash
# session 20 call C: every fused decode kernel of the untuned fused Llama-3.1-8B bundle against cuBLAS + Inductor's
# epilogue at M = 2-16 (bench/fused_epilogue_probe.py; call B's run stopped on a registry kernel's design, which
# names no N and K: fixed)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 200 python3 bench/fused_epilogue_probe.py .gpu/s20/b/llama-3.1-8b-fused.agb --m 2,4,8,16 \
  -o $OUT/fused_probe.json > $OUT/fused_probe.txt 2>&1
echo "fused probe rc=$?"; tail -20 $OUT/fused_probe.txt; date -u
