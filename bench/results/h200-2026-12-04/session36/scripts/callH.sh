#!/usr/bin/env bash
# session 36 call H: (1) the Qwen2.5-32B TP4 bf16 bundle built with call G's CUDA-core designs for its qkv (M = 1, 2)
# and gate_up (M = 1) beside call E's lm_head ones (`aotgemm build ... --no-tune`, build/): check_kernels, tuned,
# `aotgemm bench` twice. (2) e4m3 CUDA-core designs at M = 1 on the eight e4m3 weights without measured ones
# (`python bench/fp8_decode_probe.py compile .gpu/s36/fgaps --simt-gaps`: 126 kernels), checked at every M up to
# their max_m and timed against _scaled_mm at M = 1 beside designs_for's kernels up to max_m 16.
# Carried: .gpu/whl, .gpu/s36/b3, .gpu/s36/fgaps's kernels.so and designs.json.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/h36; rm -rf $R; mkdir -p $R/tune $R/bench $R/fgaps
pack() { tar czf $OUT/h.tgz -C $R .; }
n=qwen2.5-32b-tp4
timeout 200 python3 tests/gpu/check_kernels.py .gpu/s36/b3/$n.agb > $R/$n.check_kernels.log 2>&1
echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -2 | cut -c1-200
pack
tune_bench $n .gpu/s36/b3 $R 200 150
grep -E "tune: (qkv|gate_up) +M= +(1|2) " $R/tune/$n.tune.log
timeout 240 python3 bench/fp8_decode_probe.py run .gpu/s36/fgaps --log $R/fgaps --ms 1 --scales tensor --all-buckets \
  > $R/fgaps/probe.log 2>&1
echo "fp8 gaps probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/fgaps/probe.log | head
cp .gpu/s36/fgaps/designs.json $R/fgaps/; tail -n 12 $R/fgaps/fp8_decode_probe.txt | cut -c1-200
pack; date -u
