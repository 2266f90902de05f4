#!/usr/bin/env bash
# session 38 call C: the per-tensor fp8 bundles of the four shipped manifests, built with the e4m3 max_m 8 TMA designs
# (scripts/build.sh): check_kernels on each, tuned, `aotgemm bench` twice. Carried: .gpu/w2 (the apache-tvm-ffi and zstandard wheels), .gpu/s38/t.
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/c38; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/c.tgz -C $R .; }
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 qwen3-4b-tp1-fp8 llama-3.1-8b-fp8; do
  timeout 90 python3 tests/gpu/check_kernels.py .gpu/s38/t/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s38/t $R 120 80
done
date -u
