#!/usr/bin/env bash
# session 25 call A: the e4m3 TMA designs builds offer, each also with pt = 2, 4 (k tiles per promotion) and 0 (none),
# on ten weights (scripts/compileA.py, .gpu/s25/a): every kernel checked at every M up to its max_m, then timed
# at M = 16, 32, 64 against torch._scaled_mm (per-tensor scales), back to back and in a model.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=$OUT/a; mkdir -p $R
timeout 560 python3 bench/fp8_decode_probe.py run .gpu/s25/a --ms 16,32,64 --scales tensor --budget 480 --log $R > $R/run.txt 2>&1
echo "probe rc=$?"; tail -4 $R/run.txt
python3 bench/results/h200-2026-12-03/session25/scripts/pt_table.py $R | tee $R/pt_table.txt
gzip -f $R/fp8_decode_probe.json; date -u
