#!/usr/bin/env bash
# session 38 call G: the e4m3 TMA designs of max_m 16 and 32 timed again (`python bench/fp8_decode_probe.py compile
# .gpu/s38/ttf --tma-table`: designs_for's kernels of every kind at max_m 16 and 32 on the 16 weights of the shipped
# manifests below their lm_heads, then the TMA sweep's grid there; 280 kernels), since the e4m3 table's entries
# predate session 30's output stage and call A found the table's max_m 16 designs beaten at M = 3-8 by max_m 8 ones.
# Every kernel checked at every M up to its max_m, then timed against _scaled_mm (per-tensor scales) at M = 9, 16, 17,
# 32 (each bucket's lower edge and top), twice (runs 1 and 2). Carried: .gpu/w1, the probe dir's kernels.so and
# designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/g38; rm -rf $R; mkdir -p $R
for run in run1 run2; do
  mkdir -p $R/$run
  timeout 200 python3 bench/fp8_decode_probe.py run .gpu/s38/ttf --log $R/$run --ms 9,16,17,32 --scales tensor \
    --all-buckets > $R/$run/probe.log 2>&1
  echo "probe $run rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/$run/probe.log | head
  tar czf $OUT/g.tgz -C $R .
done
cp .gpu/s38/ttf/designs.json $R/; tar czf $OUT/g.tgz -C $R .; date -u
