#!/usr/bin/env bash
# session 22 call C: (1) `aotgemm bench` of session 21's tuned bf16 Llama-3.1-8B bundle again, with nvidia-smi
# sampling the SM clock, power and temperature every 100 ms (`smi.csv`): does the qkv point at M = 4096 (call B:
# 0.985x with both kernels at 97-99% of the bf16 peak) follow the clocks? (2) all of tests/gpu after the MXFP8
# merge (its runtime checks and the regenerated rule header are on the fp8 and AOTInductor paths): session 21's
# tuned Llama-3.1-8B bf16 and fp8 bundles, the fused one tuned here, session 20's e4m3 designs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit,enforced.power.limit --format=csv,noheader; date -u
R=/tmp/c22; rm -rf $R; mkdir -p $R/bench $R/tune
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
  --format=csv,noheader -lms 100 > $R/smi.csv 2>&1 &
SMI=$!
timeout 90 python3 -m aotgemm.cli bench .gpu/s21/b/llama-3.1-8b.agb -o $R/bench/run1 > $R/bench/llama-3.1-8b.run1.log 2>&1
echo "bench rc=$? $(date -u +%T)"; grep -E "^geomean" -A2 $R/bench/llama-3.1-8b.run1.log | tr '\n' ' ' | cut -c1-330; echo
grep -E "│ qkv +│ +(2048|4096|8192)" $R/bench/llama-3.1-8b.run1.log
kill $SMI; tar czf $OUT/c.tgz -C $R .
timeout 110 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(date -u +%T)"
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s21/c/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=.gpu/s21/b/llama-3.1-8b.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12; date -u
rm -f $R/tune/*.agb; tar czf $OUT/c.tgz -C $R .; date -u
