#!/usr/bin/env bash
# session 20 call E: why the tensor-core kernels stream Llama-3.1-8B's gate_up (28672 x 4096) at 96-97% of the
# floor at M = 4-16 where the CUDA-core ones reach 102% at M = 1-2 (call C). The kernels of scripts/compileE.py
# (.gpu/s20/e): checked and timed against cuBLAS at M = 1-16 (decode_probe run), then each once under ncu
# with cuBLAS after it on the same operands: duration, DRAM throughput, and the spread of SM active cycles
# (a kernel whose SMs finish at different times loses bandwidth in its tail)
set -uo pipefail
# .gpu/whl_tvm: the trimmed apache-tvm-ffi wheel alone (scripts/trim_wheels.sh; the probe needs no zstandard)
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl_tvm/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
E=.gpu/s20/e; mkdir -p $OUT/run
timeout 200 python3 bench/decode_probe.py run $E --log $OUT/run --ms 1,2,4,8,16 > $OUT/run.txt 2>&1
echo "run rc=$?"; tail -22 $OUT/run.txt; date -u
P=simt_n28672k4096_m1_r2w8u2_pdl:1,simt_n28672k4096_m2_r2w4u2_pdl:2,simt_n28672k4096_m4_r2w4u2_pdl:4
P=$P,simt_n28672k4096_m4_r4w8u1_pdl:4,cp3_n28672k4096_m8_mt2wn1wk1ck1u4_pdl:4,cp4_n28672k4096_m8_mt2wn1wk1ck1u2_pdl:8
P=$P,cp4_n28672k4096_m16_mt2wn1wk1ck1u2_pdl:16,tma5_n28672k4096_m16_wg2bk64ck1_pdl:4
P=$P,tma5_n28672k4096_m16_wg2bk64ck1_pdl:16,tma2_n28672k4096_m16_wg2bk128ck1_pdl:16
P=$(echo $P | sed 's/\([a-z0-9_]*:[0-9]*\)/aotgemm_\1/g')
timeout 200 ncu --clock-control none --section SpeedOfLight --section LaunchStats --section Occupancy \
  --metrics sm__cycles_active.max,sm__cycles_active.avg,sm__cycles_active.min,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum \
  python3 bench/decode_probe.py profile $E $P --cublas > $OUT/ncu.txt 2>&1
echo "ncu rc=$?"
grep -E "^  [a-zA-Z_].*\(|gpu__time_duration.sum|dram__throughput.avg.pct|dram__bytes_read.sum|sm__cycles_active.(max|avg|min)|Achieved Occupancy|Registers Per|Waves Per SM|Grid Size|Block Size" $OUT/ncu.txt > $OUT/ncu_short.txt
wc -l $OUT/ncu_short.txt; date -u
