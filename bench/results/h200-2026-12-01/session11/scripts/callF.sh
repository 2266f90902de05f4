#!/usr/bin/env bash
# GPU call F (session 11): m128code.py (the SiLU-mul kernel's code, unpatched vs patched, Inductor PDL on, M = 128).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/f; mkdir -p $R; T=.gpu/s11/a/tune
timeout 150 python3 .gpu/s11/scripts/m128code.py $T/llama-3.1-8b-fused-q.agb $R/code > $R/m128code.txt 2> $R/m128code.log
echo "m128code rc=$?"; tail -n 3 $R/m128code.log
tar czf $OUT/f.tgz -C $R .
