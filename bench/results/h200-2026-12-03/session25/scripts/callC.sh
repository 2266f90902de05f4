#!/usr/bin/env bash
# session 25 call C: the gate_up TMA designs of scripts/compileC.py (.gpu/s25/c8 e4m3, .gpu/s25/c16 bf16): the
# measured designs as built before (two waves) against designs whose whole grid is resident at once, each kernel
# checked at every M up to its max_m, timed at M = 16, 32, 64 against _scaled_mm / cuBLAS.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
S=bench/results/h200-2026-12-03/session25/scripts
for v in c8 c16; do
  R=$OUT/$v; mkdir -p $R
  if [ $v = c8 ]; then P="bench/fp8_decode_probe.py run .gpu/s25/c8 --ms 16,32,64 --scales tensor --all-buckets --budget 220";
  else P="bench/decode_probe.py run .gpu/s25/c16 --ms 16,32,64 --all-buckets"; fi
  timeout 260 python3 $P --log $R > $R/run.txt 2>&1
  echo "$v rc=$?"; grep -E "checks|failing|wrong" $R/run.txt | head -3
  python3 $S/wave_table.py $R .gpu/s25/$v/designs.json | tee $R/wave_table.txt
  gzip -f $R/*.json; date -u
done
