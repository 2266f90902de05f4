#!/usr/bin/env bash
# session 29 call G: decode_tma's `tt` (the max_m = 256 tokens split over two CTAs along a third grid axis, 128 each,
# both reading the same weight rows; `bench/decode_probe.py compile .gpu/s29/tt --tokens`: per weight the tt 2 designs
# and call A's fastest max_m 256 design, tma5 wg1 ov, as the reference): 56 designs on the 8 weights of OVERLAY_SHAPES, each
# checked at every M from 1 to 256, then timed against cuBLAS at M = 129, 192, 256. Carried: .gpu/w1, .gpu/s29/tt.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/g29; rm -rf $R; mkdir -p $R
timeout 300 python3 bench/decode_probe.py run .gpu/s29/tt --log $R --ms 129,192,256 --all-buckets > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head
tail -n 28 $R/decode_probe.txt 2>/dev/null | cut -c1-200; tar czf $OUT/g.tgz -C $R .; date -u
