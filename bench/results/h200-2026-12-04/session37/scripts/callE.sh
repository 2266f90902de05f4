#!/usr/bin/env bash
# session 37 call E: (1) A/B on one machine: Qwen2.5-32B TP4's bf16 bundle built from session 36's HEAD (070b969, a
# git worktree: the cp.async table before calls A and B; `-old`) and from this session's code (calls A-D's table), both
# tuned here and benched twice each in the order old, new, old, new, since call D's bench of the new one (1.110x-1.111x)
# ran on another machine than session 36's (1.115x). (2) tests/gpu/test_runtime_gpu.py with the final code's tuned
# Qwen3-4B bf16 bundle (its qkv now served by a table design at M = 3-8). Carried: .gpu/whl, .gpu/s37/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/e37; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/e.tgz -C $R .; }
for n in qwen2.5-32b-tp4-old qwen2.5-32b-tp4 qwen3-4b-tp1; do
  timeout 150 python3 -m aotgemm.cli tune .gpu/s37/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; pack
done
for run in run1 run2; do
  for n in qwen2.5-32b-tp4-old qwen2.5-32b-tp4; do
    timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run/$n > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
AOTGEMM_TEST_BUNDLE=$R/tune/qwen3-4b-tp1.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 \
  tests/gpu/test_runtime_gpu.py > $R/bf16_qwen3.log 2>&1
echo "tests/gpu rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/bf16_qwen3.log | tail -5 | cut -c1-200
pack; date -u
