#!/usr/bin/env bash
# GPU call A (session 10): PDL with Inductor's kernels as neighbours (bench/pdl_neighbours.sh) on the untuned fused
# Llama-3.1-8B bundle built at HEAD.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
python3 -c "import transformers, triton; print('transformers', transformers.__version__, 'triton', triton.__version__)"
bash bench/pdl_neighbours.sh .gpu/b/llama-3.1-8b-fused-q.agb $OUT/pdl
