#!/usr/bin/env bash
# session 22 call B: (1) `aotgemm bench --pdl-writer` of session 21's tuned bf16 Qwen2.5-32B TP4, Qwen3-4B and
# Llama-3.1-8B bundles (.gpu/s21/b, HEAD's kernels): each GEMM also after Inductor's PDL copy writes x, against
# cuBLAS after the same writer. (2) all of tests/gpu on HEAD's kernels with bundles tuned by HEAD's tuner: those
# Llama-3.1-8B bf16 and fp8 ones (.gpu/s21/b, .gpu/s21/c), the fused one tuned here from session 20's build, and
# designs_for's e4m3 kernels of session 20 (.gpu/s20/fp8).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/b22; rm -rf $R; mkdir -p $R/bench $R/tune
for n in qwen2.5-32b-tp4 qwen3-4b-tp1 llama-3.1-8b; do
  timeout 80 python3 -m aotgemm.cli bench .gpu/s21/b/$n.agb --pdl-writer -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench $n rc=$? $(date -u +%T)"; grep -E "^geomean|^in a model compiled" -A1 $R/bench/$n.run1.log | tr '\n' ' ' | cut -c1-480; echo
  tar czf $OUT/b.tgz -C $R .
done
timeout 110 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(tail -1 $R/tune/llama-3.1-8b-fused.tune.log) $(date -u +%T)"
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s21/c/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=.gpu/s21/b/llama-3.1-8b.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12; date -u
rm -f $R/tune/*.agb; tar czf $OUT/b.tgz -C $R .; date -u
