#!/usr/bin/env bash
# session 35 call F: cp.async decode designs (max_m 8 and 16) for the bf16 weights of the shipped manifests that the
# measured table (decode_designs._MEASURED_SM90) has no entry for, where builds offer the best by `_score`: Qwen2.5-32B
# TP4's qkv, o, down, gate_up, Qwen3-4B's qkv, o, down, gate_up, Llama-3.1-70B TP8's gate_up and down. The kernels:
# `python bench/decode_probe.py compile .gpu/s35/cp --explore2 --shapes ...` on the CPU (264: designs_for's and, per
# bucket, the eight best-scored new cp.async geometries; both buckets on weights of up to 21 M elements, max_m 16 on
# the larger). Each checked against float32 at every M up to its max_m (output poisoned, a guard row past it), then
# timed against cuBLAS back to back and as in a model at M = 1-16. Carried: .gpu/whl, .gpu/s35/cpk (kernels.so and
# designs.json of .gpu/s35/cp).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/f35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/f.tgz -C $R .; }
timeout 560 python3 bench/decode_probe.py run .gpu/s35/cpk --log $R --ms 1,2,3,4,5,8,9,12,16 > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked|checks took" $R/probe.log | head
tail -n 4 $R/decode_probe.txt 2>/dev/null | cut -c1-200; pack
date -u
