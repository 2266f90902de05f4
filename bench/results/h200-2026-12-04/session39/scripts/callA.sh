#!/usr/bin/env bash
# session 39 call A. (1) The four per-tensor fp8 bundles of the shipped manifests built with the e4m3 TMA table's
# three-design entries (the leader in a model of session 38's call G beside the two each entry held; scripts/build.sh
# into .gpu/s39/t): check_kernels on each, tuned, `aotgemm bench` twice; the tuned bundles kept for call C's tests/gpu.
# (2) The bf16 TMA designs of max_m 16, 32 and 64 timed again on the eight weights of Llama-3.1-70B TP8 and
# Llama-3.1-8B (less gate_up) and Qwen2.5-32B TP4's qkv whose table entries predate session 18's evict-first loads and
# session 30's output stage (`python bench/decode_probe.py compile .gpu/s39/ttb --tma-table --shapes ...`): every kernel
# checked at every M up to its max_m, then timed back to back and in a model (a copy kernel writing x first) against
# cuBLAS at M = 16, 32, 64, twice. Two calls back to back (the carry limit): `callA.sh fp8`, carrying .gpu/w2 and
# .gpu/s39/t; `callA.sh probe`, carrying .gpu/w1, .gpu/s39/ttb/kernels.so and designs.json.
set -uo pipefail
R=/tmp/a39; mkdir -p $R
P=$1; pack() { tar czf $OUT/a-$P.tgz -C $R .; }
if [ "$1" = fp8 ]; then
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
for n in llama-3.1-8b-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8; do
  timeout 90 python3 tests/gpu/check_kernels.py .gpu/s39/t/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
  tune_bench $n .gpu/s39/t $R 120 80
  mkdir -p $OUT/tuned; cp $R/tune/$n.agb $OUT/tuned/
done
exit
fi
WHEELS=.gpu/w1 source bench/gpu_call_env.sh
R=$R/probe
for run in run1 run2; do
  mkdir -p $R/$run
  timeout 150 python3 bench/decode_probe.py run .gpu/s39/ttb --log $R/$run --ms 16,32,64 --all-buckets \
    > $R/$run/probe.log 2>&1
  echo "probe $run rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|checks took" $R/$run/probe.log | head -5
  pack
done
cp .gpu/s39/ttb/designs.json $R/; pack; date -u
