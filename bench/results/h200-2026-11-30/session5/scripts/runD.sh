#!/usr/bin/env bash
# GPU call D (session 5): the Llama block latency table (issue 12) a second time with the balanced trial
# order, plus the time to first output in 5 fresh processes per package and aotgemm's share of the load;
# ncu of the M=16 decode kernels of 28672x4096 and 4096x14336 beside cuBLAS (what limits them).
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s5d; mkdir -p $R; T=.gpu/s5/a/tune
date -u
S=aotgemm_cp4_n28672k4096_m16_mt2wn1wk1ck1u2_pdl:16,aotgemm_cp3_n28672k4096_m8_mt2wn1wk1ck1u4_pdl:8,aotgemm_cp4_n4096k14336_m16_mt2wn1wk4ck2u2_pdl:16,aotgemm_cp4_n4096k14336_m16_mt2wn1wk2ck2u4_pdl:16,aotgemm_cp4_n4096k14336_m8_mt1wn1wk2ck2u4_pdl:8
timeout 150 ncu --kernel-name regex:"kernel_cutlass|nvjet|gemm|xmma|sm90" --section SpeedOfLight --section MemoryWorkloadAnalysis \
  --section Occupancy --section WarpStateStats --section LaunchStats python3 bench/decode_probe.py profile .gpu/s5/ncu $S --cublas > $R/ncu_m16.txt 2>&1
echo "ncu rc=$?"; grep -E "^  [a-z_]|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|L1/TEX Hit|L2 Hit" $R/ncu_m16.txt | head -80
tar czf $OUT/s5d.tgz -C $R .
timeout 400 python3 bench/aoti_latency.py --bundle $T/llama-3.1-8b-q.agb --trials 160 --ttfo-runs 5 --out $R/aoti_latency.json > $R/aoti_latency.txt 2>&1
echo "latency rc=$?"; grep -A6 "^interleaved" $R/aoti_latency.txt; grep -A6 "^time to first output" $R/aoti_latency.txt; grep -E "^(eager|aoti)|^hit|^miss|^startup" $R/aoti_latency.txt
tar czf $OUT/s5d.tgz -C $R .
date -u
