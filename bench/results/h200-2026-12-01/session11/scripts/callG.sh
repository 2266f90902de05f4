#!/usr/bin/env bash
# GPU call G (session 11): the aotgemm ops tagged flexible_layout (one materialised input for every op that reads it):
# m128probe without and with Inductor's PDL, the decoder layer in every form, the GPU tests of the compiled and
# AOTInductor paths, with call A's tuned fused bundle (and its bf16 one).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc TORCHINDUCTOR_FX_GRAPH_CACHE=0
R=/tmp/g; mkdir -p $R; T=.gpu/s11/a/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
for pdl in "" "--pdl"; do
  timeout 120 python3 .gpu/s11/scripts/m128probe.py $T/llama-3.1-8b-fused-q.agb $pdl > $R/m128probe$pdl.txt 2> $R/m128probe$pdl.log
  echo "m128probe $pdl rc=$?"; head -n 5 $R/m128probe$pdl.txt; grep -E "^==|silu" $R/m128probe$pdl.txt
  tar czf $OUT/g.tgz -C $R .
done
timeout 300 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --compiled --trials 25 \
  --out $R/epilogue_block.json > $R/epilogue_block.txt 2> $R/epilogue_block.log
echo "layer rc=$?"; tail -n 7 $R/epilogue_block.txt
tar czf $OUT/g.tgz -C $R .
AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 150 \
  python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu/test_aoti_gpu.py tests/gpu/test_epilogues_gpu.py > $R/tests_gpu.log 2>&1
echo "tests rc=$?"; grep -E "passed|failed|FAIL|Error" $R/tests_gpu.log | tail -5
tar czf $OUT/g.tgz -C $R .
date -u
