#!/usr/bin/env bash
# GPU call for session 14 (prepared in session 13, not yet run): decode_probe --balance on the two large
# Llama-3.1-8B weights (28672x4096, 4096x14336): TMA designs at 1-4 CTAs per SM and cluster split-K up to 8,
# every kernel checked at every M 1..max_m, then timed against cuBLAS at M = 2, 4, 8, 9, 16. Question: does a
# grid that spreads evenly over 132 SMs stream these weights at ~4.4-4.5 TB/s (52-53 us for 28672x4096), as
# the M = 1 CUDA-core kernel does, where the offered max_m 16 kernel ran 57.9 us and cuBLAS 55.3-55.9 us?
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
R=/tmp/bal; mkdir -p $R
timeout 420 python3 bench/decode_probe.py run .gpu/s14/balance --log $R --ms 2,4,8,9,16 > $R/run.log 2>&1
echo "balance rc=$?"; grep -E "^ +[0-9]+x[0-9]+ |kernels checked|CRASH|wrong" $R/run.log | cut -c1-118 | tail -n 40
tar czf $OUT/bal.tgz -C $R .
date -u
