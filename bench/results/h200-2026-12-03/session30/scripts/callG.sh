#!/usr/bin/env bash
# session 30 call G: where call A's e4m3 max_m 128 kernel on 8192 x 1024 spends its cycles at M = 128 (and at 64 and
# 16 for comparison): ncu's warp-state sampling per SASS instruction (SourceCounters), one cold run each, exported
# as CSV with the SASS. Carried: .gpu/w1, .gpu/s30/ov.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=$OUT/g; mkdir -p $R
S=bench/results/h200-2026-12-03/session25/scripts
K=aotgemm_tma7_n8192k1024_m128_wg1bk128ck1_pdl_e4m3_scale_tensor
for m in 128 64 16; do
  timeout 150 ncu --clock-control none --kernel-name regex:'kernel_cutlass' --section SourceCounters \
    --section WarpStateStats --import-source no -o $R/m$m python3 $S/profile_fp8.py .gpu/s30/ov $K:$m > $R/ncu_m$m.log 2>&1
  echo "ncu M=$m rc=$?"
  ncu --import $R/m$m.ncu-rep --page source --csv --print-source sass > $R/src_m$m.csv 2>&1
  echo "src rows: $(wc -l < $R/src_m$m.csv)"
  ncu --import $R/m$m.ncu-rep --page details --section WarpStateStats --print-details all 2>&1 | grep -iE "stall|cycles" | head -30
done
head -3 $R/src_m128.csv | cut -c1-600
gzip -f $R/*.csv; rm -f $R/*.ncu-rep; date -u
