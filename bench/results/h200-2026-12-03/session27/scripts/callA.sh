#!/usr/bin/env bash
# session 27 call A: (1) tests/gpu/test_torchao_gpu.py with both Llama-3.1-8B fp8 bundles, with this session's
# compiled path (the op traced only at M a bundle kernel serves; session 26's code never ran on a GPU after its
# last change); (2) compile_probe.py: what Inductor runs around aotgemm_scaled_mm and around torchao's own
# _scaled_mm (session 26 call E's 0.850x at down M = 64), and the new compiled path against both.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/a27; rm -rf $R; mkdir -p $R/tests $R/probe
pack() { tar czf $OUT/a.tgz -C $R .; }
T=.gpu/s25/t/llama-3.1-8b-fp8.agb
RW=.gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb
for b in $T $RW; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_FP8_BUNDLE=$b timeout 120 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$?"; grep -E "passed|failed|Error|skipped|^compiled" $R/tests/torchao_$n.log | tail -4; pack
done
timeout 400 python3 bench/results/h200-2026-12-03/session27/scripts/compile_probe.py $T $R/probe > $R/probe/probe.txt 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -A8 "^summary" $R/probe/probe.txt; pack
date -u
