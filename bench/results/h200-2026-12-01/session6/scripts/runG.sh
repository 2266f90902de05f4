#!/usr/bin/env bash
# GPU call G (session 6): the Llama-3.1-8B decoder layer with the tuned fused bundle (TMA kernels at
# M = 16-32; the AOTInductor rewrite folds SwiGLU under the M guard): eager-patched vs eager and
# AOTInductor + bundle vs plain AOTInductor, at M = 1, 16, 128, 2048.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s6g; mkdir -p $R; T=.gpu/s6/d/tune
date -u
timeout 330 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --trials 25 --out $R/epilogue_block.json > $R/epilogue_block.txt 2>&1
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -9 $R/epilogue_block.txt
tar czf $OUT/s6g.tgz -C $R .
date -u
