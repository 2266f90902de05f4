#!/usr/bin/env bash
# session 18 call D: `aotgemm bench` run 1 of call C's other tuned bundles (Qwen2.5-32B TP4, the two fp8 ones),
# run 2 of all five, and the Llama-3.1-8B MLP with the tuned fused bundle
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/d; mkdir -p $R/bench; T=.gpu/s18/B/tune
bench() {
  timeout 60 python3 -m aotgemm.cli bench $T/$1.agb -o $R/bench/$2 > $R/bench/$1.$2.log 2>&1
  echo "bench $2 $1 rc=$?"; grep -E "^geomean" -A2 $R/bench/$1.$2.log | tr '\n' ' ' | cut -c1-330; echo
  tar czf $OUT/d.tgz -C $R .
}
for n in qwen2.5-32b-tp4 llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do bench $n run1; done
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do bench $n run2; done
timeout 70 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused.agb --trials 25 --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 7 $R/mlp_fused.txt
tar czf $OUT/d.tgz -C $R .
date -u
