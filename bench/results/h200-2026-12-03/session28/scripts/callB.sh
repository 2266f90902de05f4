#!/usr/bin/env bash
# session 28 call B: (1) dynamic_probe.py: Inductor's code and the kernels of each side where call A's per-tensor
# layers with M symbolic ran 0.45x-0.66x of torchao's (the op traced, a miss); (2) the row-wise bundle with M
# symbolic at M the bundle leaves to _scaled_mm (128, 1024), which call A did not reach.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/b28; rm -rf $R; mkdir -p $R/probe $R/torchao
pack() { tar czf $OUT/b.tgz -C $R .; }
timeout 300 python3 bench/results/h200-2026-12-03/session28/scripts/dynamic_probe.py .gpu/t28/llama-3.1-8b-fp8.agb \
  $R/probe > $R/probe/probe.txt 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -A4 "^summary" $R/probe/probe.txt; grep -E "kernels per call" $R/probe/probe.txt; pack
n=llama-3.1-8b-fp8-rowwise
timeout 150 python3 bench/torchao_fp8.py .gpu/t28/$n.agb --compile dynamic --m 128,1024 --trials 11 \
  -o $R/torchao/$n.dynamic.json > $R/torchao/$n.dynamic.txt 2>&1
echo "$n dynamic rc=$? $(date -u +%T)"; grep -E "x[0-9]|geomean|control" $R/torchao/$n.dynamic.txt | cut -c1-200; pack
date -u
