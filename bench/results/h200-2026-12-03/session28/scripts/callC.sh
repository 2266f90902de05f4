#!/usr/bin/env bash
# session 28 call C: (1) fast_accum_probe.py: the per-tensor bundle's kernels against _scaled_mm in its default
# mode (what the tuner timed them against) and with use_fast_accum=True (torchao's call), at every M <= 64 its
# dispatch has a kernel; (2) bench/torchao_fp8.py --compile dynamic now compiling each side afresh per layer shape
# (call A compiled one function for all four shapes): per tensor at M = 2, 64, 1024, per token at M = 128, 1024 (each cut off by its time limit)
# (call A's per-token run timed M <= 64, all served by kernels).
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/c28; rm -rf $R; mkdir -p $R/probe $R/torchao
pack() { tar czf $OUT/c.tgz -C $R .; }
timeout 100 python3 bench/results/h200-2026-12-03/session28/scripts/fast_accum_probe.py \
  .gpu/t28/llama-3.1-8b-fp8.agb 11 > $R/probe/fast_accum.txt 2>&1
echo "fast accum probe rc=$? $(date -u +%T)"; cat $R/probe/fast_accum.txt | cut -c1-160; pack
for spec in llama-3.1-8b-fp8:2,64,1024:100 llama-3.1-8b-fp8-rowwise:128,1024:80; do
  IFS=: read -r n ms limit <<< "$spec"
  timeout $limit python3 bench/torchao_fp8.py .gpu/t28/$n.agb --compile dynamic --m $ms --trials 11 \
    -o $R/torchao/$n.dynamic.json > $R/torchao/$n.dynamic.txt 2>&1
  echo "$n dynamic rc=$? $(date -u +%T)"; grep -E "x[0-9]|geomean|control" $R/torchao/$n.dynamic.txt | cut -c1-200; pack
done
date -u
