#!/usr/bin/env bash
# session 39 calls C and D: the per-token (torchao's PerRow recipe, manifests/*-fp8-rowwise.toml) and per-output-channel
# (session 20's *-fp8-row.toml) fp8 bundles built with the e4m3 TMA table's three-design entries, whose designs serve
# every scale form (`scripts/build.sh w`, `r`).
# `callC.sh C`: check_kernels on all eight; tests/gpu/test_runtime_gpu.py with call B's tuned per-tensor Llama-3.1-8B
# and Qwen3-4B bundles (new side), whose tunes took the new designs on two buckets each (every kernel run directly at
# every M it serves against float32, and through the runtime and CUDA graphs); the per-token bundles tuned and benched
# twice. `callC.sh D`: the per-channel ones tuned and benched twice. Carried: .gpu/w2, .gpu/s39/w, .gpu/s39/r,
# .gpu/s39/ct (call B's two).
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
P=$1; R=/tmp/c39/$P; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/$P.tgz -C $R .; }
if [ "$P" = C ]; then
  for n in llama-3.1-8b-fp8-row qwen3-4b-tp1-fp8-row qwen2.5-32b-tp4-fp8-row llama-3.1-70b-tp8-fp8-row; do
    timeout 90 python3 tests/gpu/check_kernels.py .gpu/s39/r/$n.agb > $R/$n.check_kernels.log 2>&1
    echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  done
  for n in llama-3.1-8b-fp8-rowwise qwen3-4b-tp1-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise; do
    timeout 90 python3 tests/gpu/check_kernels.py .gpu/s39/w/$n.agb > $R/$n.check_kernels.log 2>&1
    echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  done
  pack
  for n in llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do
    AOTGEMM_TEST_BUNDLE=.gpu/s39/ct/$n.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 \
      tests/gpu/test_runtime_gpu.py > $R/tests_gpu.$n.log 2>&1
    echo "tests/gpu $n rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/tests_gpu.$n.log \
      | tail -5 | cut -c1-200; pack
  done
  for n in llama-3.1-8b-fp8-rowwise qwen3-4b-tp1-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise; do
    tune_bench $n .gpu/s39/w $R 120 80
  done
else
  for n in llama-3.1-8b-fp8-row qwen3-4b-tp1-fp8-row qwen2.5-32b-tp4-fp8-row llama-3.1-70b-tp8-fp8-row; do
    tune_bench $n .gpu/s39/r $R 120 80
  done
fi
date -u
