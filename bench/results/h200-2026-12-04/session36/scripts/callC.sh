#!/usr/bin/env bash
# session 36 call C: CUDA-core kernels loading 8 bytes a lane (decode_simt's `lb`) on the two e4m3 weights whose K
# is no whole number of 16-byte warp loads (Qwen2.5-32B TP4's o 5120 x 1280 and down 5120 x 6912: builds offered
# them no CUDA-core kernel), max_m 1 and 2, beside the kernels builds offer there (max_m <= 16), per-tensor and
# per-channel scales (`python bench/fp8_decode_probe.py compile .gpu/s36/lb8 --shapes 5120:1280,5120:6912
# --simt-lb8`: 126 kernels). Every kernel checked at every M up to its max_m, then timed against _scaled_mm at
# M = 1, 2, 4 with every design whose max_m holds M. Carried: .gpu/w1, .gpu/s36/lb8's kernels.so and designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/c36; rm -rf $R; mkdir -p $R
timeout 400 python3 bench/fp8_decode_probe.py run .gpu/s36/lb8 --log $R --ms 1,2,4 --scales tensor,row --all-buckets \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head
cp .gpu/s36/lb8/designs.json $R/
tail -n 20 $R/fp8_decode_probe.txt | cut -c1-230
tar czf $OUT/c.tgz -C $R .; date -u
