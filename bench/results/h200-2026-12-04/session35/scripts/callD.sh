#!/usr/bin/env bash
# session 35 call D: TMA decode designs for the bf16 weights of the shipped manifests that the measured table
# (decode_designs._TMA_SM90) has no entry for at max_m 16-64, where builds offer the rule's two designs per bucket:
# Llama-3.1-70B TP8's gate_up and down, Qwen2.5-32B TP4's down, o and gate_up, Qwen3-4B's qkv, o, down and gate_up.
# The kernels: `python bench/decode_probe.py compile .gpu/s35/table --tma-table` on the CPU (221: the rule's designs
# and the TMA sweep's grid, wg 1 and 2, k tiles of 128 and 256 bytes, every cluster split-K whose grid has 48-264
# CTAs, as many stages as fit one CTA per SM or two). Every kernel checked against float32 at every M from 1 to its
# max_m (output poisoned, a guard row past it), then timed against cuBLAS back to back and as in a model at each
# bucket's M and its lower edge. Carried: .gpu/whl, .gpu/s35/tablek (kernels.so and designs.json of .gpu/s35/table).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/d.tgz -C $R .; }
timeout 560 python3 bench/decode_probe.py run .gpu/s35/tablek --log $R --ms 9,16,17,32,33,64 > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked|checks took" $R/probe.log | head
tail -n 60 $R/decode_probe.txt 2>/dev/null | cut -c1-200; pack
date -u
