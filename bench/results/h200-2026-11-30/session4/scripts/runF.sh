#!/usr/bin/env bash
# GPU call F (session 4): the eager layer's host time with Python's GC as is, frozen, and off.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
for g in on freeze off; do
  timeout 100 python3 bench/eager_layer_host.py .gpu/s4/c/tune/llama-3.1-8b-fused-q.agb --ms 16,128 --gc $g --no-profile > $OUT/eager_layer_host_gc_$g.txt 2>&1
  echo "gc $g rc=$?"; grep -E "^M=|^form|^eager |^mlp fused |^patched " $OUT/eager_layer_host_gc_$g.txt
done
