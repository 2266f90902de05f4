#!/usr/bin/env bash
# GPU host, torch 2.11 (CPU tensors only): does Dynamo trace the compile-time unfusing rule without a graph break?
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
python3 -c "import torch; print(torch.__version__)"
timeout 200 python3 -m pytest -q -x -p no:cacheprovider tests/test_runtime_epilogues.py -k "compile_unfuses" 2>&1 | grep -vE "^\s*$" | grep -E "Error|error|Unsupported|graph break|Graph break|assert|passed|failed|Explanation|Hint|Developer" | head -30
