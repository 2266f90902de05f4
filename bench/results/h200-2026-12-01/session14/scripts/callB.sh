#!/usr/bin/env bash
# GPU call B (session 14), on call A's machine if still warm: the machine's clocks and power state (cuBLAS ran
# 28672x4096 at 59-60 us in call A against 55.3-55.9 us in session 12); the fused Llama-3.1-8B bundle tuned with
# the committed tuner (writes .tune.json); tests/gpu with that bundle, session 12's tuned bf16/fp8 Llama bundles
# and the fp8 decode kernels compiled on the CPU (the test session 13 skipped); the MLP against cuBLAS + Inductor.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/b; mkdir -p $R/tune; T=.gpu/s12/t4
nvidia-smi --query-gpu=name,driver_version,serial,clocks.sm,clocks.mem,clocks.max.sm,power.limit,temperature.gpu --format=csv
nvidia-smi -q -d CLOCK,POWER,PERFORMANCE,TEMPERATURE > $R/smi_before.txt 2>&1; date -u
/usr/bin/time -f "tune wall %e s" timeout 110 python3 -m aotgemm.cli tune .gpu/s13/b/llama-3.1-8b-fused-q.agb \
  -o $R/tune/llama-3.1-8b-fused-q.agb > $R/tune/llama-3.1-8b-fused-q.tune.log 2>&1
echo "tune rc=$? $(tail -1 $R/tune/llama-3.1-8b-fused-q.tune.log)"
tar czf $OUT/b.tgz -C $R .
timeout 75 python3 bench/mlp_fused.py $R/tune/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 7 $R/mlp_fused.txt
tar czf $OUT/b.tgz -C $R .
AOTGEMM_FP8_DECODE_DIR=.gpu/s14/fp8dec AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused-q.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
nvidia-smi -q -d CLOCK,POWER,PERFORMANCE,TEMPERATURE > $R/smi_after.txt 2>&1
tar czf $OUT/b.tgz -C $R .
date -u
