#!/usr/bin/env bash
# session 35 call K: call D's sweep on the weights whose table entries date from session 6 (2026-12-01, before the
# output stage, evict-first and promotion changes of sessions 16-30): Llama-3.1-8B's qkv, o, down and gate_up and
# Llama-3.1-70B TP8's qkv and o. `python bench/decode_probe.py compile .gpu/s35/old --tma-table --shapes
# 6144:4096,4096:4096,4096:14336,28672:4096,1280:8192,8192:1024` on the CPU (157 kernels), checked and timed as in
# call D. Carried: .gpu/whl, .gpu/s35/oldk (kernels.so, designs.json).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/k35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/k.tgz -C $R .; }
timeout 300 python3 bench/decode_probe.py run .gpu/s35/oldk --log $R --ms 9,16,17,32,33,64 > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head -3
pack; date -u
