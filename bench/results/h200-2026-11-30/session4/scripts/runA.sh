#!/usr/bin/env bash
# GPU call A (session 4): tests/gpu on this code, the eager host overhead, the eager decoder layer.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=$OUT; T=.gpu/s3t/llama-3.1-8b.agb; F=.gpu/s3t/llama-3.1-8b-fused.agb
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
AOTGEMM_TEST_FUSED_BUNDLE=$F AOTGEMM_TEST_BUNDLE=$T timeout 240 python3 -m pytest -q -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; tail -6 $R/tests_gpu.log
timeout 90 python3 bench/runtime_overhead.py --bundle $T --skip-startup --out $R/runtime_overhead.json > $R/runtime_overhead.txt 2>&1
echo "overhead rc=$?"; tail -22 $R/runtime_overhead.txt
timeout 200 python3 bench/epilogue_block.py $F --no-aoti --m 1 16 128 2048 --out $R/epilogue_block_eager.json > $R/epilogue_block_eager.txt 2>&1
echo "layer rc=$?"; tail -7 $R/epilogue_block_eager.txt
date -u
