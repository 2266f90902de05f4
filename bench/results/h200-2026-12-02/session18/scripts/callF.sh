#!/usr/bin/env bash
# session 18 call F: tune the per-tensor fp8 Llama-3.1-70B TP8 and Qwen2.5-32B TP4 bundles and the bf16
# Llama-3.1-70B TP8 one (.gpu/s18/b2), then `aotgemm bench` twice of each and of call C's tuned fused Llama one
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/f; mkdir -p $R/tune $R/bench; B=.gpu/s18/b2
cp .gpu/s18/B/tune/llama-3.1-8b-fused.agb $R/tune/
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8; do
  /usr/bin/time -f "tune wall %e s" timeout 90 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $OUT/f.tgz -C $R .
done
for run in run1 run2; do
  for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fused llama-3.1-70b-tp8; do
    timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
    tar czf $OUT/f.tgz -C $R .
  done
done
date -u
