#!/usr/bin/env bash
# session 35 call H: does the TMA rule's "as many stages as fit" lose on the lm_heads too, as it did by one stage on
# call D's weights? The three lm_heads the rule still serves (128256 x 4096, 151936 x 2560, 38016 x 5120), max_m 16,
# 32, 64, each rule design beside the one with one stage fewer whose stages fit in 200 KB
# (scripts/lmcap_compile.py: 36 kernels). Checked against float32 at every M up to max_m, then timed against cuBLAS
# at the buckets' M and lower edges. Carried: .gpu/whl, .gpu/s35/lmcapk (kernels.so and designs.json).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/h35; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/h.tgz -C $R .; }
timeout 400 python3 bench/decode_probe.py run .gpu/s35/lmcapk --log $R --ms 4,9,16,17,32,33,64 --all-buckets \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "^check .*(wrong|crash)|CRASH|kernels checked|checks took" $R/probe.log | head
pack; date -u
