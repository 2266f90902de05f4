#!/usr/bin/env bash
# session 36 call D: the Qwen2.5-32B TP4 per-tensor and per-token fp8 bundles built with the 8-byte CUDA-core kernels
# of call C on its o and down at M = 1 (`aotgemm build manifests/NAME.toml --gpu H200_SXM --no-tune --sources aotgemm
# --sources cutlass_operators --sources quack`, 22 s each on 2 cores): tests/gpu/check_kernels.py on each untuned
# bundle (every kernel, the new ones among them), then each tuned and `aotgemm bench` twice.
# Carried: .gpu/whl, .gpu/s36/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d36; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/d.tgz -C $R .; }
for n in qwen2.5-32b-tp4-fp8 qwen2.5-32b-tp4-fp8-rowwise; do
  timeout 150 python3 tests/gpu/check_kernels.py .gpu/s36/b/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|checks" $R/$n.check_kernels.log | tail -3 | cut -c1-200
  pack
done
for n in qwen2.5-32b-tp4-fp8 qwen2.5-32b-tp4-fp8-rowwise; do
  tune_bench $n .gpu/s36/b $R 120 90
  grep -E "tune: (o|down) +M= +1 " $R/tune/$n.tune.log
done
date -u
