#!/usr/bin/env bash
# session 21 call D: `aotgemm bench` with its ceilings at the fastest read known (GpuModel.measured_read_gbps),
# once each on call B's tuned Qwen3-4B bundle and call C's tuned per-tensor fp8 Llama-3.1-8B bundle; then how fast
# torch's own reductions read (scripts/read_probe.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
mkdir -p $OUT/bench
for b in .gpu/s21/b/qwen3-4b-tp1.agb .gpu/s21/c/llama-3.1-8b-fp8.agb; do
  n=$(basename $b .agb)
  timeout 90 python3 -m aotgemm.cli bench $b -o $OUT/bench/run1 > $OUT/bench/$n.run1.log 2>&1
  echo "bench $n rc=$?"; tail -6 $OUT/bench/$n.run1.log
done
timeout 60 python3 bench/results/h200-2026-12-02/session21/scripts/read_probe.py 2>&1 | tee $OUT/read_probe.txt
date -u
