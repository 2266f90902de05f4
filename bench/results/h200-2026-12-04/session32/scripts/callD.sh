#!/usr/bin/env bash
# session 32 call D: `bench/draw_spread.py` on call B's tuned Qwen3-4B and Llama-3.1-70B TP8 bf16 bundles: every
# chosen kernel at M >= 4096 (and the split starts there) against cuBLAS in 6 draws of newly allocated operands,
# back to back and as in a model; how often a draw loses back to back, and whether the tuner's 3 draws would have
# seen it. Carried: .gpu/whl, .gpu/s32/t.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d32; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/d.tgz -C $R .; }
for n in qwen3-4b-tp1 llama-3.1-70b-tp8; do
  timeout 200 python3 bench/draw_spread.py .gpu/s32/t/$n.agb --draws 6 --json $R/$n.draw_spread.json \
    > $R/$n.draw_spread.txt 2>&1
  echo "$n rc=$? $(date -u +%T)"; tail -n 3 $R/$n.draw_spread.txt; pack
done
date -u
