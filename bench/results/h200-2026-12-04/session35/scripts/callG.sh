#!/usr/bin/env bash
# session 35 call G: the decode kernels of the other epilogues through decode_tma's output stage as this session
# changed it (the store moved into store_outputs; ragged_n): tests/gpu/check_epilogues.py on the untuned fused
# Llama-3.1-8B bundle (bias, residual_add, swiglu: every kernel at every M up to its max_m, a poisoned guard row after
# the output) and tests/gpu/check_kernels.py on the untuned per-tensor, per-channel and per-token fp8 Llama-3.1-8B
# bundles (scripts/build3.sh). Carried: .gpu/whl, .gpu/s35/b3.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/g35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/g.tgz -C $R .; }
timeout 200 python3 tests/gpu/check_epilogues.py .gpu/s35/b3/llama-3.1-8b-fused.agb > $R/fused.check_epilogues.log 2>&1
echo "check_epilogues fused rc=$? $(date -u +%T)"; tail -n 2 $R/fused.check_epilogues.log | cut -c1-200; pack
for n in llama-3.1-8b-fp8 llama-3.1-8b-fp8-row llama-3.1-8b-fp8-rowwise; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s35/b3/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; tail -n 1 $R/$n.check_kernels.log | cut -c1-200
done
pack; date -u
