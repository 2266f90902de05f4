#!/usr/bin/env bash
# session 23 call F: bundles built with the whole-row ("coal") cp.async designs (scripts/build.sh, .gpu/s23/b) on a
# GPU: Llama-3.1-8B tuned, then `aotgemm bench` of it and of session 21's tuned bundle (the designs before) on this
# machine; the fused bundle tuned, and all of tests/gpu with the two (every kernel of them run directly at every M
# it serves, the coal SwiGLU ones included); last, Qwen2.5-32B TP4 tuned and benched.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/f23; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/f.tgz --exclude='*.agb' -C $R .; }
timeout 110 python3 -m aotgemm.cli tune .gpu/s23/b/llama-3.1-8b.agb -o $R/tune/llama-3.1-8b.agb > $R/tune/llama-3.1-8b.tune.log 2>&1
echo "tune l8b rc=$? $(date -u +%T)"; pack
for b in new:$R/tune/llama-3.1-8b.agb s21:.gpu/s21/b/llama-3.1-8b.agb; do
  timeout 90 python3 -m aotgemm.cli bench ${b#*:} -o $R/bench/llama-3.1-8b.${b%%:*} > $R/bench/llama-3.1-8b.${b%%:*}.log 2>&1
  echo "bench ${b%%:*} rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/llama-3.1-8b.${b%%:*}.log | tr '\n' ' ' | cut -c1-260; echo
done; pack
timeout 110 python3 -m aotgemm.cli tune .gpu/s23/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(date -u +%T)"; pack
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s21/c/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$R/tune/llama-3.1-8b.agb \
  timeout 260 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -6; date -u; pack
timeout 100 python3 -m aotgemm.cli tune .gpu/s23/b/qwen2.5-32b-tp4.agb -o $R/tune/qwen2.5-32b-tp4.agb > $R/tune/qwen2.5-32b-tp4.tune.log 2>&1
echo "tune q32 rc=$? $(date -u +%T)"; pack
timeout 60 python3 -m aotgemm.cli bench $R/tune/qwen2.5-32b-tp4.agb -o $R/bench/qwen2.5-32b-tp4.new > $R/bench/qwen2.5-32b-tp4.new.log 2>&1
echo "bench q32 rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/qwen2.5-32b-tp4.new.log | tr '\n' ' ' | cut -c1-260; echo
mkdir -p $OUT/agb; cp $R/tune/*.agb $OUT/agb/ 2>/dev/null; pack; date -u
