#!/usr/bin/env bash
# session 20 call G: the fine-grid cp.async designs of scripts/compileG.py (.gpu/s20/g) on Llama-3.1-8B's gate_up,
# checked and timed against cuBLAS and designs_for's kernels at M = 2-16 (decode_probe run), then the two fastest
# fine-grid ones at M = 16 once under ncu (call E's metrics)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl_tvm/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
G=.gpu/s20/g; mkdir -p $OUT/run
timeout 240 python3 bench/decode_probe.py run $G --log $OUT/run --ms 2,4,8,16 > $OUT/run.txt 2>&1
echo "run rc=$?"; tail -9 $OUT/run.txt; date -u
P=$(python3 - <<'PY'
import json
import os
rows = json.load(open(os.environ["OUT"] + "/run/decode_probe.json"))["rows"]
fine = sorted((r["us"], r["symbol"]) for r in rows if r["m"] == 16 and r["design"].get("ck", 1) > 1
              and r["design"]["kind"] == "swapab_cp")
print(",".join(f"{s}:16" for _, s in fine[:2]))
PY
)
echo "ncu: $P"
timeout 120 ncu --clock-control none --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats \
  --metrics sm__cycles_active.max,sm__cycles_active.avg,sm__cycles_active.min,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum \
  python3 bench/decode_probe.py profile $G $P > $OUT/ncu.txt 2>&1
echo "ncu rc=$?"
grep -E "^  [a-zA-Z_].*\(|gpu__time_duration.sum|dram__throughput.avg.pct|dram__bytes_read.sum|sm__cycles_active.(max|avg|min)|Achieved Occupancy|Registers Per|Waves Per SM|Grid Size|Block Size|Warp Cycles Per Issued" $OUT/ncu.txt > $OUT/ncu_short.txt
rm $OUT/ncu.txt; date -u
