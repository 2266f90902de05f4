#!/usr/bin/env bash
# session 25 call B: ncu on e4m3 TMA kernels that stream large weights slowly at M = 32-64 (call A), beside
# _scaled_mm on the same operands and the same kernels' M = 16 runs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=$OUT/b; mkdir -p $R
S=bench/results/h200-2026-12-03/session25/scripts
P=aotgemm_tma7_n19456k2560_m64_wg2bk128ck1_pdl_e4m3_scale_tensor:64,aotgemm_tma7_n19456k2560_m64_wg2bk128ck1_pdl_e4m3_scale_tensor:16
P=$P,aotgemm_tma5_n19456k2560_m16_wg2bk128ck1_pdl_e4m3_scale_tensor:16,aotgemm_tma10_n19456k2560_m32_wg2bk128ck1_pdl_e4m3_scale_tensor:32
P=$P,$(python3 -c "import json;d=json.load(open('.gpu/s25/a/designs.json'));print([s for s in d if 'n5120k6912_m64' in s and 'pt' not in s][0])"):64
echo "$P"
timeout 400 ncu --clock-control none --kernel-name regex:'kernel_cutlass|nvjet|gemm|xmma' \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
  --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis \
  python3 $S/profile_fp8.py .gpu/s25/a $P --mm > $R/ncu.log 2>&1
echo "ncu rc=$?"
grep -E "profiled|Duration|DRAM Throughput|Memory Throughput|L2 Cache Throughput|Compute \(SM\)|Achieved Occupancy|Registers Per|Grid Size|Block Size|Issue Slot|No Eligible|Warp Cycles Per Issued|Dynamic Shared|  [a-z_0-9]+ *\(" $R/ncu.log | head -150
gzip -f $R/ncu.log; date -u
