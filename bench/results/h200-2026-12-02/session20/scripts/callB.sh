#!/usr/bin/env bash
# session 20 call B: the fused Llama-3.1-8B bundle tuned; the MLP with it (plain, in a model, after Inductor's PDL
# writer); every fused kernel of the untuned bundle against cuBLAS + Inductor's epilogue at M = 2-16
# (bench/fused_epilogue_probe.py); all of tests/gpu with call A's tuned Llama-3.1-8B bf16 and fp8 bundles, this
# call's fused one, and designs_for's fp8 kernels (both scale forms) for the three weights with register-fed
# e4m3 designs (.gpu/s20/fp8, scripts/build2.sh); every kernel of call A's tuned Llama-3.1-70B TP8 fp8 bundle
# run directly at every M it serves
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/b; mkdir -p $R/tune; A=.gpu/s20/A
timeout 120 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb \
  > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(tail -1 $R/tune/llama-3.1-8b-fused.tune.log) $(date -u +%T)"; tar czf $OUT/b.tgz -C $R .
timeout 120 python3 bench/mlp_fused.py $R/tune/llama-3.1-8b-fused.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp rc=$?"; tail -7 $R/mlp_fused.txt; tar czf $OUT/b.tgz -C $R .
timeout 150 python3 bench/fused_epilogue_probe.py .gpu/s20/b/llama-3.1-8b-fused.agb --m 2,4,8,16 \
  -o $R/fused_probe.json > $R/fused_probe.txt 2>&1
echo "fused probe rc=$?"; tail -14 $R/fused_probe.txt; tar czf $OUT/b.tgz -C $R .
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=$A/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$A/llama-3.1-8b.agb \
  timeout 280 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8; tar czf $OUT/b.tgz -C $R .
TAG=b bash bench/results/h200-2026-12-02/session19/scripts/kernels_direct.sh $A/llama-3.1-70b-tp8-fp8.agb
date -u
