#!/usr/bin/env bash
# session 23 call A: the register-ring and interleaved-K variants of the register-fed kernel (scripts/compileA.py,
# .gpu/s23/a) beside designs_for's kernels: checked at every M up to max_m and timed against cuBLAS at M = 1-16
# (decode_probe run); then, under ncu, on 28672x4096 and 6144x4096 at M = 8: the fastest new design, the fastest
# other one, and cuBLAS after each.
set -uo pipefail
export OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
A=.gpu/s23/a; mkdir -p $OUT/run
timeout 300 python3 bench/decode_probe.py run $A --log $OUT/run > $OUT/run.txt 2>&1
echo "run rc=$?"; grep -E "checks took|failing" $OUT/run.txt; date -u
P=$(python3 - <<'PY'
import json
import os
rows = json.load(open(os.environ["OUT"] + "/run/decode_probe.json"))["rows"]
picks = []
for n, k in ((28672, 4096), (6144, 4096)):
    rs = [r for r in rows if (r["n"], r["k"], r["m"]) == (n, k, 8)]
    new = [r for r in rs if "ring" in r["design"] or "kx" in r["design"]]
    old = [r for r in rs if r not in new]
    for group in (new, old):
        if group:
            picks.append(min(group, key=lambda r: r["us"])["symbol"] + ":8")
print(",".join(picks))
PY
)
echo "ncu: $P"
timeout 150 ncu --clock-control none --section SpeedOfLight --section LaunchStats --section Occupancy \
  --metrics sm__cycles_active.max,sm__cycles_active.avg,sm__cycles_active.min,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum \
  python3 bench/decode_probe.py profile $A $P --cublas > $OUT/ncu.txt 2>&1
echo "ncu rc=$?"
grep -E "^  [a-zA-Z_].*\(|gpu__time_duration.sum|dram__throughput.avg.pct|dram__bytes_read.sum|sm__cycles_active.(max|avg|min)|Achieved Occupancy|Registers Per|Waves Per SM|Grid Size|Block Size" $OUT/ncu.txt > $OUT/ncu_short.txt
rm -f $OUT/ncu.txt; wc -l $OUT/ncu_short.txt; date -u
sed -n '/^# decode_probe/,$p' $OUT/run.txt | tail -45
