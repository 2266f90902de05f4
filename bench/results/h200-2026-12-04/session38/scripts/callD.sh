#!/usr/bin/env bash
# session 38 call D: the per-output-channel fp8 bundles (session 20's manifests, scales = "row"), whose README row
# was session 33's code, built with the e4m3 max_m 8 TMA designs (scripts/build.sh): check_kernels on each, tuned,
# `aotgemm bench` twice. Carried: .gpu/w2 (the apache-tvm-ffi and zstandard wheels), .gpu/s38/r.
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/d38; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/d.tgz -C $R .; }
for n in llama-3.1-70b-tp8-fp8-row qwen2.5-32b-tp4-fp8-row qwen3-4b-tp1-fp8-row llama-3.1-8b-fp8-row; do
  timeout 90 python3 tests/gpu/check_kernels.py .gpu/s38/r/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s38/r $R 120 80
done
date -u
