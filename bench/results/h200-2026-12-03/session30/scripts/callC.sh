#!/usr/bin/env bash
# session 30 call C: ncu on call A's e4m3 max_m 128 kernels where they lost to _scaled_mm at M = 128 (8192 x 1024,
# 4096 x 4096, 5120 x 1280) and where one won (1280 x 8192), at M = 64 and 128, each beside _scaled_mm on the same
# operands (session 25's profile_fp8.py: fresh random e4m3 operands, per-tensor scales, one run each).
# Carried: .gpu/w1, .gpu/s30/ov.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=$OUT/c; mkdir -p $R
S=bench/results/h200-2026-12-03/session25/scripts
T=_pdl_e4m3_scale_tensor
P=aotgemm_tma7_n8192k1024_m128_wg1bk128ck1$T:128,aotgemm_tma7_n8192k1024_m128_wg1bk128ck1$T:64
P=$P,aotgemm_tma4_n8192k1024_m64_wg1bk256ck1$T:64,aotgemm_tma4_n8192k1024_m128_wg2bk128ck2$T:128
P=$P,aotgemm_tma7_n4096k4096_m128_wg1bk128ck2$T:128,aotgemm_tma7_n5120k1280_m128_wg1bk128ck1$T:128
P=$P,aotgemm_tma7_n1280k8192_m128_wg1bk128ck4$T:128
timeout 400 ncu --clock-control none --kernel-name regex:'kernel_cutlass|nvjet|gemm|xmma|sm90' \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
  --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis --section InstructionStats \
  python3 $S/profile_fp8.py .gpu/s30/ov $P --mm > $R/ncu.log 2>&1
echo "ncu rc=$?"
grep -E "profiled|^  [a-zA-Z_].*\(|Duration|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Compute \(SM\) Throughput|Grid Size|Registers Per|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Executed Ipc A" $R/ncu.log | head -200
gzip -f $R/ncu.log; date -u
