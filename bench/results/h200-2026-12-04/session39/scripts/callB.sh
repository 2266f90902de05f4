#!/usr/bin/env bash
# session 39 call B. (1) Qwen2.5-32B TP4's bf16 bundle built with the bf16 TMA table's one new design (1792 x 5120 at
# max_m 16, from call A's probe; `scripts/build.sh b` into .gpu/s39/b): check_kernels, tuned, `aotgemm bench` twice.
# (2) Old against new on one machine, since call A's machine ran our small-M kernels 1-2% slower than session 38's
# call C everywhere: the per-tensor fp8 bundles of Llama-3.1-8B and Qwen3-4B (two new designs each) as HEAD builds them
# (.gpu/s38/t, session 38's call C bundles) and with this session's tables (.gpu/s39/t), each tuned here, then benched
# old, new, old, new. Carried: .gpu/w2, .gpu/s39/b/qwen2.5-32b-tp4.agb, the four fp8 bundles.
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/b39; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/b.tgz -C $R .; }
n=qwen2.5-32b-tp4
timeout 120 python3 tests/gpu/check_kernels.py .gpu/s39/b/$n.agb > $R/$n.check_kernels.log 2>&1
echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
tune_bench $n .gpu/s39/b $R 150 120
mkdir -p $OUT/tuned; cp $R/tune/$n.agb $OUT/tuned/
for n in llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do
  for side in old new; do
    in=.gpu/s38/t; [ $side = new ] && in=.gpu/s39/t
    mkdir -p $R/ab/$side/tune
    timeout 120 python3 -m aotgemm.cli tune $in/$n.agb -o $R/ab/$side/tune/$n.agb > $R/ab/$side/tune/$n.tune.log 2>&1
    echo "tune $side $n rc=$? $(date -u +%T)"
  done
  for run in run1 run2; do
    for side in old new; do
      timeout 80 python3 -m aotgemm.cli bench $R/ab/$side/tune/$n.agb -o $R/ab/$side/bench/$run/$n \
        > $R/ab/$side/$n.$run.log 2>&1
      echo "bench $side $n $run rc=$? $(date -u +%T)"
      grep -E "^geomean" -A1 $R/ab/$side/$n.$run.log | tr '\n' ' ' | cut -c1-200; echo
    done
    pack
  done
done
date -u
