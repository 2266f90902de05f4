#!/usr/bin/env bash
# GPU call G (session 4): tests/gpu on the final code, with the tuned session-3 bundles.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
T=.gpu/s3t/llama-3.1-8b.agb; F=.gpu/s3t/llama-3.1-8b-fused.agb
date -u
AOTGEMM_TEST_FUSED_BUNDLE=$F AOTGEMM_TEST_BUNDLE=$T timeout 280 python3 -m pytest -q -p no:cacheprovider -rs tests/gpu > $OUT/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; tail -8 $OUT/tests_gpu.log; date -u
