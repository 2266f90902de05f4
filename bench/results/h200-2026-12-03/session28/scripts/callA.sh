#!/usr/bin/env bash
# session 28 call A: this session's compiled torchao path (with M symbolic the op is traced where the bundle has a
# kernel for the layer at some M, and decides per call), and session 27's (a static M no kernel serves traces
# torchao's own forward), neither run on a GPU before. The per-tensor and row-wise Llama-3.1-8B fp8 bundles, built
# on the CPU (scripts/build.sh) and tuned here; tests/gpu/test_torchao_gpu.py with each; then
# bench/torchao_fp8.py --compile dynamic (M symbolic, both sides compiled, and torchao's layer compiled a second
# time as the control) for each.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/a28; rm -rf $R; mkdir -p $R/tune $R/tests $R/torchao
pack() { tar czf $OUT/a.tgz -C $R .; }
for n in llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  timeout 100 python3 -m aotgemm.cli tune .gpu/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; tail -n 1 $R/tune/$n.tune.log | cut -c1-200; pack
done
for n in llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  AOTGEMM_TEST_FP8_BUNDLE=$R/tune/$n.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$?"; grep -E "passed|failed|Error|skipped|^compiled" $R/tests/torchao_$n.log | tail -8; pack
done
for n in llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  timeout 130 python3 bench/torchao_fp8.py $R/tune/$n.agb --compile dynamic --m 2,16,64 --trials 11 \
    -o $R/torchao/$n.dynamic.json > $R/torchao/$n.dynamic.txt 2>&1
  echo "$n dynamic rc=$? $(date -u +%T)"; grep -E "x[0-9]|geomean|control" $R/torchao/$n.dynamic.txt | cut -c1-200; pack
done
date -u
