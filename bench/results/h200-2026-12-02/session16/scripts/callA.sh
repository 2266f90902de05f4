#!/bin/bash
# session 16 call A: epilogue cost of the mid-M TMA kernels (three builds), then ncu on two of them and cuBLAS
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
cd .gpu/s16
timeout 240 python3 epi_diag.py run full local nopush 2>&1 | tee $OUT/epi_diag.txt
cd ../..
timeout 150 ncu --clock-control none --launch-count 12 --section SpeedOfLight --section MemoryWorkloadAnalysis \
  --section WarpStateStats --section LaunchStats --section Occupancy --section SchedulerStats \
  python3 bench/decode_probe.py profile .gpu/s16/full aotgemm_tma4_n4096k4096_m128_wg2bk64ck4_pdl:128,aotgemm_tma7_n4096k4096_m128_wg1bk64ck2_pdl:128 --cublas \
  > $OUT/ncu.txt 2>&1
tail -5 $OUT/ncu.txt
grep -E "^  [a-zA-Z_]|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|L2 Cache Throughput|Stall|Warp Cycles Per Issued|Registers|Shared Memory Config|Achieved Occupancy" $OUT/ncu.txt | head -150
