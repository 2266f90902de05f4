#!/usr/bin/env bash
# session 35 call I: call D's sweep on the one bf16 weight of the shipped manifests it left out, Qwen2.5-32B TP4's qkv
# (1792 x 5120, whose table entry held max_m 128 alone, so max_m 16-64 had the rule's designs):
# `python bench/decode_probe.py compile .gpu/s35/qkv --tma-table --shapes 1792:5120` on the CPU (30 kernels), checked
# and timed as in call D. Carried: .gpu/whl, .gpu/s35/qkvk (kernels.so, designs.json).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/i35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/i.tgz -C $R .; }
timeout 200 python3 bench/decode_probe.py run .gpu/s35/qkvk --log $R --ms 9,16,17,32,33,64 > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head -3
pack; date -u
