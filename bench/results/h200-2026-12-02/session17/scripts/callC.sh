#!/usr/bin/env bash
# session 17 call C: the second `aotgemm bench` of call B's tuned bf16 bundles; the Llama-3.1-8B MLP with its tuned
# fused bundle; all of tests/gpu with the tuned Llama-3.1-8B bundles
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/c; mkdir -p $R/bench; T=.gpu/s17/B/tune
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4; do
  timeout 80 python3 -m aotgemm.cli bench $T/$n.agb -o $R/bench/run2 > $R/bench/$n.run2.log 2>&1
  echo "bench run2 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run2.log | tr '\n' ' ' | cut -c1-330; echo
  tar czf $OUT/c.tgz -C $R .
done
timeout 70 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused.agb --trials 25 --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 7 $R/mlp_fused.txt
tar czf $OUT/c.tgz -C $R .
AOTGEMM_FP8_DECODE_DIR=.gpu/s16/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s12/t4/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b.agb \
  timeout 280 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
tar czf $OUT/c.tgz -C $R .
date -u
