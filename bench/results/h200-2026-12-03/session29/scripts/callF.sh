#!/usr/bin/env bash
# session 29 call F: the --overlay grid at max_m 128 alone (35 designs) on the five bf16 manifest weights call A left
# out whose M = 65-128 buckets cuBLAS serves (Qwen3-4B qkv, o, down; Llama-3.1-70B TP8 gate_up, down), compiled on the
# CPU with `compile_grid(.gpu/s29/ov2, shapes, lambda n, k: overlay_designs(n, k, max_ms=(128,)))`: each checked
# at every M from 1 to 128, then timed against cuBLAS at M = 65, 96, 128. Carried: .gpu/w1, .gpu/s29/ov2.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/f29; rm -rf $R; mkdir -p $R
timeout 300 python3 bench/decode_probe.py run .gpu/s29/ov2 --log $R --ms 65,96,128 --all-buckets > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head
tail -n 20 $R/decode_probe.txt 2>/dev/null | cut -c1-200; tar czf $OUT/f.tgz -C $R .; date -u
