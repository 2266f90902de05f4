#!/usr/bin/env bash
# GPU call E (session 4): host and GPU time of the eager decoder layer, plain / MLP fused / patched.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
timeout 200 python3 bench/eager_layer_host.py .gpu/s4/c/tune/llama-3.1-8b-fused-q.agb --ms 16,128 > $OUT/eager_layer_host.txt 2>&1
echo "rc=$?"; grep -v "^ *$" $OUT/eager_layer_host.txt | head -150
