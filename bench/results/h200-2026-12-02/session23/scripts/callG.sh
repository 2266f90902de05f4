#!/usr/bin/env bash
# session 23 call G: `aotgemm bench` again of call F's tuned Llama-3.1-8B and Qwen2.5-32B TP4 bundles (the coal
# designs), on another machine: the second run of each.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/g23; rm -rf $R; mkdir -p $R/bench
for b in llama-3.1-8b qwen2.5-32b-tp4; do
  timeout 75 python3 -m aotgemm.cli bench .gpu/s23/t/$b.agb -o $R/bench/$b.run2 > $R/bench/$b.run2.log 2>&1
  echo "bench $b rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$b.run2.log | tr '\n' ' ' | cut -c1-260; echo
  tar czf $OUT/g.tgz -C $R .
done
