#!/usr/bin/env bash
# session 38 call E: (1) the per-token fp8 bundles of the four shipped manifests (torchao PerRow, *-fp8-rowwise.toml)
# built with the e4m3 max_m 8 TMA designs (scripts/build.sh): check_kernels on each, tuned, `aotgemm bench` twice;
# (2) tests/gpu/test_runtime_gpu.py with call C's tuned per-tensor Llama-3.1-70B TP8 and Qwen2.5-32B TP4 bundles,
# whose tunes took max_m 8 TMA kernels on 8 and 6 buckets: every kernel run directly at every M it serves against
# float32, and through the runtime and CUDA graphs. Carried: .gpu/w2 (the apache-tvm-ffi and zstandard wheels),
# .gpu/s38/w, .gpu/s38/ct (call C's two tuned bundles).
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/e38; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/e.tgz -C $R .; }
for n in llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise llama-3.1-8b-fp8-rowwise; do
  timeout 90 python3 tests/gpu/check_kernels.py .gpu/s38/w/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s38/w $R 120 80
done
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8; do
  AOTGEMM_TEST_BUNDLE=.gpu/s38/ct/$n.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 \
    tests/gpu/test_runtime_gpu.py > $R/tests_gpu.$n.log 2>&1
  echo "tests/gpu $n rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/tests_gpu.$n.log \
    | tail -5 | cut -c1-200; pack
done
date -u
