#!/usr/bin/env bash
# session 25 call D: the e4m3 TMA designs of scripts/compileD.py (.gpu/s25/d), grids of 265-528 CTAs beside the
# designs builds offer now: each kernel checked at every M up to its max_m, then timed at M = 16, 32, 64 against
# torch._scaled_mm (per-tensor scales), back to back and (the four fastest) in a model.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
S=bench/results/h200-2026-12-03/session25/scripts
R=$OUT/d; mkdir -p $R
timeout 90 python3 bench/fp8_decode_probe.py run .gpu/s25/d --ms 16,32,64 --scales tensor --all-buckets --budget 45 \
  --log $R > $R/run.txt 2>&1
echo "probe rc=$?"; grep -E "checks took|kernels checked|budget" $R/run.txt | head -5
python3 $S/wave_table.py $R .gpu/s25/d/designs.json > $R/wave_table.txt
python3 $S/best_new.py $R .gpu/s25/d/designs.json | tee $R/best_new.txt
gzip -f $R/*.json; tar czf $OUT/d.tgz -C $OUT d; date -u
