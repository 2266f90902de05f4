#!/usr/bin/env bash
# session 35 call B: the M = 128 bucket of the widest weights (the four lm_heads and four gate_ups of the shipped
# manifests), which cuBLAS serves in every bf16 bundle at 82-93% of the floor, and where neither of our kinds of
# kernel had been timed: max_m 128 swap-AB TMA designs (builds offer max_m 128 only on two weights, measured on
# tensor-parallel ones), and quack's tiles (offered from M = 256 on).
# The kernels: `python bench/decode_probe.py compile .gpu/s35/wide --wide` on the CPU (40 designs: wg 1 and 2, k
# tiles of 128 and 256 bytes, as many stages as fit one or two CTAs per SM), and session 34's 27 quack tiles
# (`python bench/quack_tile_probe.py compile .gpu/s34/tiles2_bf16 --dtype bfloat16`). Each kernel is checked
# against float32 first (output poisoned); the TMA ones at every M from 1 to 128.
# Carried: .gpu/whl, .gpu/s35/wide, .gpu/s34/tiles2_bf16.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/b35; rm -rf $R; mkdir -p $R/tma $R/quack $R/quack256
pack() { tar czf $OUT/b.tgz -C $R .; }
timeout 300 python3 bench/decode_probe.py run .gpu/s35/wide --log $R/tma --ms 65,96,128 --all-buckets \
  > $R/tma/probe.log 2>&1
echo "tma probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked" $R/tma/probe.log | head
tail -n 30 $R/tma/decode_probe.txt 2>/dev/null | cut -c1-210; pack
W=16032x8192,128256x4096,38016x5120,151936x2560,28672x4096,13824x5120,19456x2560,7168x8192
timeout 240 python3 bench/quack_tile_probe.py run .gpu/s34/tiles2_bf16 --log $R/quack --ms 65,128 --weights $W \
  > $R/quack/probe.log 2>&1
echo "quack probe rc=$? $(date -u +%T)"; tail -n 20 $R/quack/quack_tile_probe.txt 2>/dev/null | cut -c1-200; pack
timeout 60 python3 bench/quack_tile_probe.py run .gpu/s34/tiles2_bf16 --log $R/quack256 --ms 256 --weights 16032x8192 \
  > $R/quack256/probe.log 2>&1
echo "quack 256 rc=$? $(date -u +%T)"; tail -n 3 $R/quack256/quack_tile_probe.txt 2>/dev/null | cut -c1-200; pack
date -u
