#!/usr/bin/env bash
# session 37 call F: the per-token fp8 bundles (torchao PerRow: `_scaled_mm`'s row-wise form) of the three models whose
# e4m3 cp.async designs changed (Qwen3-4B, Qwen2.5-32B TP4, Llama-3.1-70B TP8), built with the final tables
# (.gpu/s37/r): the table's designs were timed with per-tensor scales, and a per-token epilogue reads a scale per
# token; check_kernels on each, tuned, `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s37/r.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/f37; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/f.tgz -C $R .; }
for n in qwen3-4b-tp1-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise; do
  timeout 100 python3 tests/gpu/check_kernels.py .gpu/s37/r/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s37/r $R 100 60
done
date -u
