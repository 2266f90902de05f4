#!/usr/bin/env bash
# session 30 call I: (1) bf16: session 29's --overlay designs (max_m 128 and 256) that store 4 columns a step, as
# compiled before this session's output-stage change and after it (8-byte stores), in one kernels.so
# (scripts/ab_compile.py --vw4: .gpu/s30/abbf); (2) e4m3 and bf16: the designs that store one column a step (a CTA
# owning 8-32 columns), as they are and compiled with 4 columns a step (ab_compile.py --vw4-all: .gpu/s30/vwf8, call
# A's designs; .gpu/s30/vwbf, session 29's). Each kernel checked at every M from 1 to its max_m, then timed against
# cuBLAS / _scaled_mm at every design whose max_m holds M (--all-buckets). Carried: .gpu/w1 and the three dirs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/i30; rm -rf $R; mkdir -p $R/abbf $R/vwf8 $R/vwbf
timeout 200 python3 bench/decode_probe.py run .gpu/s30/abbf --log $R/abbf --ms 16,64,128,256 --all-buckets \
  > $R/abbf/probe.log 2>&1
echo "abbf rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked" $R/abbf/probe.log | head -5
timeout 150 python3 bench/fp8_decode_probe.py run .gpu/s30/vwf8 --log $R/vwf8 --ms 16,33,64,96,128 --scales tensor \
  --all-buckets > $R/vwf8/probe.log 2>&1
echo "vwf8 rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked" $R/vwf8/probe.log | head -5
timeout 200 python3 bench/decode_probe.py run .gpu/s30/vwbf --log $R/vwbf --ms 16,64,128,256 --all-buckets \
  > $R/vwbf/probe.log 2>&1
echo "vwbf rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked" $R/vwbf/probe.log | head -5
tar czf $OUT/i.tgz -C $R .; date -u
