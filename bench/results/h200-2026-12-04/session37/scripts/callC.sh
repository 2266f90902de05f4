#!/usr/bin/env bash
# session 37 call C: bundles built with calls A and B's cp.async tables (`aotgemm build MANIFEST --gpu H200_SXM --no-tune
# --sources aotgemm --sources cutlass_operators --sources quack`, .gpu/s37/b) for the bf16 manifests whose weights
# gained (Qwen3-4B: its qkv 6144 x 2560 and o 2560 x 4096; Qwen2.5-32B TP4: qkv, o and down; Llama-3.1-70B TP8:
# gate_up) and Qwen3-4B's per-tensor fp8 (2560 x 9728, 6144 x 2560): check_kernels on each, then tuned and
# `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s37/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/c37; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/c.tgz -C $R .; }
for n in qwen3-4b-tp1 qwen2.5-32b-tp4 qwen3-4b-tp1-fp8 llama-3.1-70b-tp8; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s37/b/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s37/b $R 150 100
done
date -u
