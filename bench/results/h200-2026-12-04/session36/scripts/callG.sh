#!/usr/bin/env bash
# session 36 call G: CUDA-core kernels at M = 1 and 2 on the six bf16 weights of the shipped manifests whose
# CUDA-core designs no probe had measured at M = 1, or that read at 84-92% of the floor there: 2-8 rows, every warp
# count up to 10 that divides K's warp loads, 1-2 loads a row in flight, with 16-byte loads and with 8-byte ones
# (decode_simt's `lb`), beside designs_for's kernels of max_m up to 16 (`python bench/decode_probe.py compile
# .gpu/s36/gaps --simt-gaps`: 390 kernels). Every kernel checked at every M up to its max_m, then timed against
# cuBLAS at M = 1 and 2 with every design whose max_m holds M. Carried: .gpu/w1, .gpu/s36/gaps's kernels.so and
# designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/g36; rm -rf $R; mkdir -p $R
timeout 540 python3 bench/decode_probe.py run .gpu/s36/gaps --log $R --ms 1,2 --all-buckets > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head
cp .gpu/s36/gaps/designs.json $R/
tail -n 16 $R/decode_probe.txt | cut -c1-200
tar czf $OUT/g.tgz -C $R .; date -u
