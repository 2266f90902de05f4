#!/usr/bin/env bash
# GPU call E (session 11): m128probe.py --pdl (call D: compiled-pdl-patched 0.982x of compiled-pdl at M = 128).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/e; mkdir -p $R; T=.gpu/s11/a/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
timeout 200 python3 .gpu/s11/scripts/m128probe.py $T/llama-3.1-8b-fused-q.agb --pdl > $R/m128probe_pdl.txt 2> $R/m128probe_pdl.log
echo "m128probe --pdl rc=$?"; cat $R/m128probe_pdl.txt | head -80; tail -n 3 $R/m128probe_pdl.log
tar czf $OUT/e.tgz -C $R .
date -u
