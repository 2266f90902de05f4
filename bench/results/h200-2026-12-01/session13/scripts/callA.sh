#!/usr/bin/env bash
# GPU call A (session 13): all of tests/gpu with session 12's tuned Llama bundles (call 4: bf16, fused, per-tensor
# fp8; the kernels are this commit's), then the Llama-3.1-8B MLP and the decoder layer in every form with the
# tuned fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/a; mkdir -p $R; T=.gpu/s12/t4
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 290 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 \
  tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
tar czf $OUT/a.tgz -C $R .
date -u
timeout 60 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 7 $R/mlp_fused.txt
tar czf $OUT/a.tgz -C $R .
timeout 170 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --compiled --trials 25 \
  --out $R/epilogue_block.json > $R/epilogue_block.txt 2> $R/epilogue_block.log
echo "layer rc=$?"; tail -n 7 $R/epilogue_block.txt
tar czf $OUT/a.tgz -C $R .
date -u
