#!/usr/bin/env bash
# session 20 call F: the register-fed kernels of scripts/compileF.py (.gpu/s20/f) on Llama-3.1-8B's gate_up once
# each under ncu (max_m 8 ones at M = 4, max_m 16 ones at M = 16), and the CUDA-core M = 2 kernel, with the
# metrics of call E
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl_tvm/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
F=.gpu/s20/f
P=$(python3 -c "import json; d=json.load(open('$F/designs.json')); print(','.join(f'{s}:{2 if v[\"kind\"] == \"simt\" else (4 if v[\"max_m\"] == 8 else 16)}' for s, v in d.items()))")
echo "$P"
timeout 200 ncu --clock-control none --section SpeedOfLight --section LaunchStats --section Occupancy \
  --section WarpStateStats \
  --metrics sm__cycles_active.max,sm__cycles_active.avg,sm__cycles_active.min,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum \
  python3 bench/decode_probe.py profile $F $P > $OUT/ncu.txt 2>&1
echo "ncu rc=$?"
grep -E "^  [a-zA-Z_].*\(|gpu__time_duration.sum|dram__throughput.avg.pct|dram__bytes_read.sum|sm__cycles_active.(max|avg|min)|Achieved Occupancy|Registers Per|Waves Per SM|Grid Size|Block Size|Stall|Warp Cycles Per Issued" $OUT/ncu.txt > $OUT/ncu_short.txt
rm $OUT/ncu.txt; wc -l $OUT/ncu_short.txt; date -u
