#!/usr/bin/env bash
# session 29 call A: decode_tma's `ov` (split-K partials over the pipeline's stages) at max_m 128 and 256.
# The kernels: `python bench/decode_probe.py compile .gpu/s29/ov --overlay` on the CPU (86 designs on the 8 weights
# of OVERLAY_SHAPES, each ov design beside its twin with a partials region of its own where that fits). Every kernel
# checked against float32 at every M from 1 to its max_m (output poisoned first), then timed against cuBLAS,
# back to back and after a copy kernel writes x, at M = 65, 96, 128 (max_m 128 and 256) and 129, 192, 256 (256).
# Carried: .gpu/w1 (the apache-tvm-ffi wheel alone: the probe needs no other, and the tree's limit is tight) and
# .gpu/s29/ov (kernels.so, designs.json).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/a29; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/a.tgz -C $R .; }
timeout 500 python3 bench/decode_probe.py run .gpu/s29/ov --log $R --ms 65,96,128,129,192,256 --all-buckets \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head -20
tail -n 60 $R/decode_probe.txt 2>/dev/null | cut -c1-200; pack
date -u
