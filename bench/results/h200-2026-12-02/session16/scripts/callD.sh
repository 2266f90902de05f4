#!/usr/bin/env bash
# session 16 call D: 1) tune the three untuned bundles built with the vectorised output stage (.gpu/s16/b);
# 2) the --balance grid at max_m 16 for Qwen2.5-32B TP4's and Qwen3-4B's gate_up, checked and timed at M = 8, 16;
# 3) all of tests/gpu with the tuned Llama bundles (every kernel run directly at the M it serves, AOTInductor,
# tune), the e4m3 decode kernels of call C and session 12's fp8 bundle
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/d; mkdir -p $R/tune; B=.gpu/s16/b
for n in llama-3.1-8b llama-3.1-8b-fused qwen2.5-32b-tp4; do
  /usr/bin/time -f "tune wall %e s" timeout 150 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $OUT/d.tgz -C $R .
done
timeout 100 python3 bench/decode_probe.py run .gpu/s16/bal --ms 8,16 --log $R/bal > $R/bal.log 2>&1
echo "balance rc=$?"; tail -n 8 $R/bal.log
tar czf $OUT/d.tgz -C $R .
AOTGEMM_FP8_DECODE_DIR=.gpu/s16/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s12/t4/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$R/tune/llama-3.1-8b.agb \
  timeout 270 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
tar czf $OUT/d.tgz -C $R .
date -u
