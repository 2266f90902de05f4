#!/usr/bin/env bash
# GPU call A for session 15 (prepared in session 14, not yet run). Carry .gpu/whl, .gpu/s14 (its tuned/ holds the
# split-tuned bundles of session 14, calls C-D), .gpu/s12/t4. 1) all of tests/gpu with the split-tuned Llama
# bundles: the AOTInductor guard's "any" predicate (std::max/std::min over a GEMM's served M ranges) compiled by
# torch 2.11's AOTInductor on the GPU (session 14 ran it only on the CPU with torch 2.13); 2) the decoder layer
# in every form and the MLP with the split-tuned fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/a; mkdir -p $R; T=.gpu/s14/tuned
AOTGEMM_FP8_DECODE_DIR=.gpu/s14/fp8dec AOTGEMM_TEST_FP8_BUNDLE=.gpu/s12/t4/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
tar czf $OUT/a.tgz -C $R .
timeout 60 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 6 $R/mlp_fused.txt
tar czf $OUT/a.tgz -C $R .
timeout 200 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --compiled --trials 25 \
  --out $R/epilogue_block.json > $R/epilogue_block.txt 2> $R/epilogue_block.log
echo "layer rc=$?"; tail -n 7 $R/epilogue_block.txt
tar czf $OUT/a.tgz -C $R .
date -u
