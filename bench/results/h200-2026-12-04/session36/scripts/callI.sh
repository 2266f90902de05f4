#!/usr/bin/env bash
# session 36 call I: the Qwen2.5-32B TP4 per-tensor and per-token and the Llama-3.1-70B TP8 per-tensor fp8 bundles
# built with call H's e4m3 CUDA-core designs at M = 1 (Qwen2.5-32B TP4's qkv and gate_up, Llama-3.1-70B TP8's
# gate_up) beside call C's 8-byte ones (build/): check_kernels on each, then each tuned and `aotgemm bench` twice.
# Carried: .gpu/whl, .gpu/s36/b4.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/i36; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/i.tgz -C $R .; }
for n in qwen2.5-32b-tp4-fp8 qwen2.5-32b-tp4-fp8-rowwise llama-3.1-70b-tp8-fp8; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s36/b4/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -2 | cut -c1-200
done
pack
for n in qwen2.5-32b-tp4-fp8 qwen2.5-32b-tp4-fp8-rowwise llama-3.1-70b-tp8-fp8; do
  tune_bench $n .gpu/s36/b4 $R 150 120
  grep -E "tune: (qkv|gate_up) +M= +1 " $R/tune/$n.tune.log
done
date -u
