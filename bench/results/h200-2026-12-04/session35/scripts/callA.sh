#!/usr/bin/env bash
# session 35 call A: decode_tma with a last CTA past N (`ragged_n`), on Llama-3.1-70B TP8's lm_head (16032 x 8192:
# 128256 rows over 8 ranks, 250.5 tiles of 64), where builds had offered no TMA design and cuBLAS kept M = 4-32.
# The kernels: `python bench/decode_probe.py compile .gpu/s35/lm --shapes 16032:8192 --tma-sweep` on the CPU (29
# designs: designs_for's and the TMA sweep at max_m 16, 32, 64). Every kernel checked against float32 at every M
# from 1 to its max_m (output poisoned first; the probe also checks that every element is written, and with rows
# past N a stray store would land in the next token's row), then timed against cuBLAS back to back and after a
# copy kernel writes x, at the buckets' M and their lower edges.
# Carried: .gpu/whl, .gpu/s35/lm (kernels.so, designs.json).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/a35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/a.tgz -C $R .; }
timeout 500 python3 bench/decode_probe.py run .gpu/s35/lm --log $R --ms 1,2,3,4,5,8,9,16,17,32,33,64 \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/probe.log | head -20
tail -n 40 $R/decode_probe.txt 2>/dev/null | cut -c1-210; pack
date -u
