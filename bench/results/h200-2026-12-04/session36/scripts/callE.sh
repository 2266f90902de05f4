#!/usr/bin/env bash
# session 36 call E: on the four largest weights (three lm_heads and Llama-3.1-8B's gate_up), TMA designs without
# split-K, one and two warpgroups, k tiles of 128, 256 and 512 bytes a row (512 new: four swizzle atoms), max_m 16
# and 32, beside the kernels builds offer up to max_m 32 (`python bench/decode_probe.py compile .gpu/s36/stream
# --stream`: 97 kernels). Every kernel checked at every M up to its max_m, then timed against cuBLAS at
# M = 1, 2, 4, 8, 16, 32 with every design whose max_m holds M. Carried: .gpu/w1, .gpu/s36/stream's kernels.so and
# designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/e36; rm -rf $R; mkdir -p $R
timeout 500 python3 bench/decode_probe.py run .gpu/s36/stream --log $R --ms 1,2,4,8,16,32 --all-buckets \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head
cp .gpu/s36/stream/designs.json $R/
tail -n 28 $R/decode_probe.txt | cut -c1-200
tar czf $OUT/e.tgz -C $R .; date -u
