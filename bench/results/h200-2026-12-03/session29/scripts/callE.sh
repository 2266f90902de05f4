#!/usr/bin/env bash
# session 29 call E: the Llama-3.1-8B fused-epilogue bundle (scripts/build_fused.sh), whose down + residual_add now
# has the max_m 128 TMA kernel too: tuned, then tests/gpu/test_epilogues_gpu.py (every fused kernel of the bundle,
# that one included, at every M it serves, against float32), then `aotgemm bench` once.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/e29; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/e.tgz --exclude='*.agb' -C $R .; }
n=llama-3.1-8b-fused
timeout 130 python3 -m aotgemm.cli tune .gpu/s29/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
echo "tune $n rc=$? $(date -u +%T)"; grep -E "down .*M=  *128 " $R/tune/$n.tune.log | cut -c1-170; tail -n 2 $R/tune/$n.tune.log | cut -c1-200; pack
AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/$n.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_epilogues_gpu.py > $R/tests_epilogues.log 2>&1
echo "test_epilogues rc=$? $(date -u +%T)"; grep -E "kernel|passed|failed|FAIL|Error" $R/tests_epilogues.log | tail -6; pack
timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
echo "bench rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.run1.log | tr '\n' ' ' | cut -c1-300; echo
grep -E "down +│ +128 " $R/bench/$n.run1.log | cut -c1-140; pack; date -u
