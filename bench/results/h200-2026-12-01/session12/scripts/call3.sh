#!/usr/bin/env bash
# GPU call 3 (session 12): the bundles built with x in power-of-two TMA boxes (decode_tma.x_box_plan): tune the four
# bf16 bundles, the fused Llama one and the four per-tensor fp8 ones, then `aotgemm bench` run 1 of each.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=$OUT/c; mkdir -p $R/tune $R/bench; B=.gpu/s12/cb
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
ALL="llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1 llama-3.1-8b-fused-q llama-3.1-8b-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8"
for n in $ALL; do
  /usr/bin/time -f "tune wall %e s" timeout 120 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|wrong|FAIL|rror|EXCLUDED" $R/tune/$n.tune.log | head -3
done
for n in $ALL; do
  timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench run1 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log | tr '\n' ' '; echo
done
date -u
