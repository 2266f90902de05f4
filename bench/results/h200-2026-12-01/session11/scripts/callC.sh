#!/usr/bin/env bash
# GPU call C (session 11): m128probe.py (the compiled decoder layer at M = 1, 16, 128: unpatched, patched, and
# patched with F.linear where no kernel serves the static M), twice, with call A's tuned fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/c; mkdir -p $R; T=.gpu/s11/a/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
for run in run1 run2; do
  timeout 200 python3 .gpu/s11/scripts/m128probe.py $T/llama-3.1-8b-fused-q.agb > $R/m128probe.$run.txt 2> $R/m128probe.$run.log
  echo "m128probe $run rc=$?"; tail -n 5 $R/m128probe.$run.txt; tail -n 3 $R/m128probe.$run.log
  tar czf $OUT/c.tgz -C $R .
done
date -u
