#!/usr/bin/env bash
# session 37 call D: (1) the Qwen3-4B and Qwen2.5-32B TP4 bf16 bundles again, built with the cp.async table as
# committed (each weight's new entries keep the best design builds had offered it: call C's tune of Qwen2.5-32B TP4
# had taken on its o a new design that tied in a model and ran 5% slower back to back in the bench); (2) the per-tensor
# fp8 bundles of Qwen2.5-32B TP4 and Llama-3.1-70B TP8, built with the e4m3 cp.async table. check_kernels on each,
# tuned, `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s37/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d37; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/d.tgz -C $R .; }
for n in qwen3-4b-tp1 qwen2.5-32b-tp4 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s37/b/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s37/b $R 150 100
done
date -u
