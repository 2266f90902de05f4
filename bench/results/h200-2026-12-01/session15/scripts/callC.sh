#!/usr/bin/env bash
# GPU call C (session 15): 1) `aotgemm bench` (8e1227e's single warm-up-and-timing path, warm-up now in
# timing.interleaved) of the split-tuned Llama-3.1-8B and Qwen2.5-32B TP4 bundles; 2) the Llama-3.1-8B MLP with
# the split-tuned fused bundle, twice, with bench's warm-up rounds and 25 trials.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv,noheader; date -u
R=/tmp/c; mkdir -p $R/bench; T=.gpu/s14/tuned
for n in llama-3.1-8b-q qwen2.5-32b-tp4; do
  timeout 90 python3 -m aotgemm.cli bench $T/$n.agb -o $R/bench > $R/bench/$n.log 2>&1
  echo "bench $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.log | tr '\n' ' ' | cut -c1-330; echo
done
tar czf $OUT/c.tgz -C $R .
for run in 1 2; do
  timeout 90 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb --pdl-writer --trials 25 -o $R/mlp_fused.run$run.json > $R/mlp_fused.run$run.txt 2>&1
  echo "mlp_fused run$run rc=$?"; tail -n 6 $R/mlp_fused.run$run.txt
  tar czf $OUT/c.tgz -C $R .
done
date -u
