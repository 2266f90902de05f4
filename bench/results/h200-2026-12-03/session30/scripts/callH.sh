#!/usr/bin/env bash
# session 30 call H: the output stage before and after this session's change (e4m3: the scale factor read once, not
# per column; a CTA owning 64+ columns stores 4 outputs in one 8-byte store), each design of call A twice in one
# kernels.so (scripts/ab_compile.py: the old objects, and the same designs compiled now as SYMBOL_v2), so that both
# run in the same interleaved rounds. Every kernel checked at every M from 1 to its max_m, then timed against
# _scaled_mm at M = 16, 33, 64, 96, 128, every design whose max_m holds M (--all-buckets).
# Carried: .gpu/w1, .gpu/s30/abf8.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/h30; rm -rf $R; mkdir -p $R
timeout 540 python3 bench/fp8_decode_probe.py run .gpu/s30/abf8 --log $R --ms 16,33,64,96,128 --scales tensor \
  --all-buckets > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head -20
tail -n 44 $R/fp8_decode_probe.txt 2>/dev/null | cut -c1-200; tar czf $OUT/h.tgz -C $R .
date -u
