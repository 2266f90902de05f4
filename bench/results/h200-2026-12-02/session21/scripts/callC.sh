#!/usr/bin/env bash
# session 21 call C: `aotgemm bench` with this commit's fixes (bench.bench_points: a kernel serving only its
# bucket's M adds no second point; bench._measure: three times the rounds where they spread wider than 5%), two
# runs each, of call B's tuned Qwen3-4B, Qwen2.5-32B TP4 and Llama-3.1-8B bundles (tuned with
# tune._margin_over_draws; .gpu/s21/b), then Llama-3.1-70B TP8 (bf16) and the four per-tensor fp8 bundles tuned
# with it and benched twice (session 19's tune_bench.sh; untuned bundles from session 20, .gpu/s20/b).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/c; rm -rf $R; mkdir -p $R/bench
for n in qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b; do
  for run in run1 run2; do
    timeout 90 python3 -m aotgemm.cli bench .gpu/s21/b/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$? $(date -u +%T)"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
    tar czf $OUT/c.tgz -C $R .
  done
done
TAG=c2 B=.gpu/s20/b bash bench/results/h200-2026-12-02/session19/scripts/tune_bench.sh llama-3.1-70b-tp8 \
  llama-3.1-8b-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8
date -u
