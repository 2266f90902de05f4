#!/usr/bin/env bash
# session 32 call B: the tuner with call A's tie rule and, new here, back-to-back checks on the fresh draws (each
# of `tune.FRESH_DRAWS` at the bucket's M, and one more draw at a split bucket's start): the four bf16 bundles of
# scripts/build.sh tuned, then `aotgemm bench` twice each; then tests/gpu/test_tune_gpu.py (a planted wrong kernel
# never chosen; `aotgemm tune` rewrites only this GPU's target) on the untuned Llama-3.1-8B bundle.
# Carried: .gpu/whl, .gpu/s32/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/b32; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/b.tgz -C $R .; }
tune_bench qwen3-4b-tp1 .gpu/s32/b $R 120 70
tune_bench llama-3.1-70b-tp8 .gpu/s32/b $R 90 60
tune_bench llama-3.1-8b .gpu/s32/b $R 120 70
tune_bench qwen2.5-32b-tp4 .gpu/s32/b $R 120 70
AOTGEMM_TEST_BUNDLE=.gpu/s32/b/llama-3.1-8b.agb timeout 90 python3 -m pytest -q -p no:cacheprovider -rs \
  tests/gpu/test_tune_gpu.py > $R/test_tune_gpu.log 2>&1
echo "test_tune_gpu rc=$? $(tail -n 1 $R/test_tune_gpu.log)"; pack
date -u
