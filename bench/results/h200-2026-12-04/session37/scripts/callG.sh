#!/usr/bin/env bash
# session 37 call G: A/B on one machine of Qwen3-4B's per-token fp8 bundle, built from session 36's HEAD (070b969, a git
# worktree: e4m3 cp.async designs from the bf16 table's geometries and the score; `-old`) and from this session's
# code (the e4m3 table), since call F's bench of the new one ran 0.5-0.8% under session 34's on another machine. Both
# tuned here, benched in the order old, new, old, new. Carried: .gpu/whl, .gpu/s37/r.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/g37; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/g.tgz -C $R .; }
for n in qwen3-4b-tp1-fp8-rowwise-old qwen3-4b-tp1-fp8-rowwise; do
  timeout 80 python3 -m aotgemm.cli tune .gpu/s37/r/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; pack
done
for run in run1 run2; do
  for n in qwen3-4b-tp1-fp8-rowwise-old qwen3-4b-tp1-fp8-rowwise; do
    timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run/$n > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
date -u
