#!/usr/bin/env bash
# session 29 call B: what e12a5c7 changed and had not run on a GPU. tests/gpu/test_torchao_gpu.py (its symbolic-M
# step now runs torchao's compiled layer once per M) with session 28's tuned per-tensor and row-wise Llama-3.1-8B
# fp8 bundles (.gpu/t28, tuned in session 28's call A), then bench/torchao_fp8.py --compile dynamic as committed
# (its sides' graph calls through one helper) per token at M = 2, 16, 64, where the bundle's kernels serve:
# session 28 timed those hits with one compiled function for all four layer shapes.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/b29; rm -rf $R; mkdir -p $R/tests $R/torchao
pack() { tar czf $OUT/b.tgz -C $R .; }
for n in llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  AOTGEMM_TEST_FP8_BUNDLE=.gpu/t28/$n.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$? $(date -u +%T)"; grep -E "passed|failed|Error|skipped|^compiled" $R/tests/torchao_$n.log | tail -8; pack
done
timeout 200 python3 bench/torchao_fp8.py .gpu/t28/llama-3.1-8b-fp8-rowwise.agb --compile dynamic --m 2,16,64 \
  --trials 11 -o $R/torchao/llama-3.1-8b-fp8-rowwise.dynamic.json > $R/torchao/llama-3.1-8b-fp8-rowwise.dynamic.txt 2>&1
echo "rowwise dynamic rc=$? $(date -u +%T)"; grep -E "x[0-9]|geomean|control" $R/torchao/*.dynamic.txt | cut -c1-200; pack
date -u
