#!/usr/bin/env bash
# session 31 call A. (1) e4m3 max_m 64/128/256 designs on 1280 x 8192 and 1792 x 5120 (`fp8_decode_probe.py compile
# .gpu/s31/ov --overlay --shapes 1280:8192,1792:5120`), compiled with session 30's output stage: checked at every M,
# timed against _scaled_mm at M = 96-256 (session 30 call A, before that stage, had max_m 256 at 0.92x-0.95x in a
# model on these two weights, the closest of eight). (2) The bf16, fused and Llama-3.1-8B per-tensor fp8 bundles,
# tuned (they come back for call B's tests/gpu). (3) `aotgemm bench` twice of the three bf16 bundles whose README rows
# predate the output stage. Carried: .gpu/whl, .gpu/s30/b3, .gpu/s31/b, .gpu/s31/ov.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/a31; rm -rf $R; mkdir -p $R/tune $R/bench $R/probe
pack() { tar czf $OUT/a.tgz -C $R .; }
timeout 150 python3 bench/fp8_decode_probe.py run .gpu/s31/ov --log $R/probe --ms 96,128,129,192,256 --scales tensor \
  > $R/probe/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; tail -n 40 $R/probe/fp8_decode_probe.txt | cut -c1-200; pack
for b in s30/b3/llama-3.1-8b s30/b3/llama-3.1-8b-fp8 s31/b/llama-3.1-8b-fused s30/b3/qwen2.5-32b-tp4 \
         s31/b/llama-3.1-70b-tp8 s31/b/qwen3-4b-tp1; do
  n=$(basename $b)
  timeout 150 python3 -m aotgemm.cli tune .gpu/$b.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T) $(tail -n 1 $R/tune/$n.tune.log | cut -c1-150)"; pack
done
for n in qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1; do
  for run in run1 run2; do
    timeout 120 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run/$n > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
date -u
