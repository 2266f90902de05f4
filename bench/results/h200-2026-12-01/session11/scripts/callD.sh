#!/usr/bin/env bash
# GPU call D (session 11): the Llama-3.1-8B decoder layer in every form (eager, AOTInductor with and without the
# bundle, torch.compile with and without Inductor's PDL) with call A's tuned fused bundle, at HEAD; the MLP again.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/d; mkdir -p $R; T=.gpu/s11/a/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
timeout 70 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 5 $R/mlp_fused.txt
tar czf $OUT/d.tgz -C $R .
timeout 330 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --compiled --trials 25 \
  --out $R/epilogue_block.json > $R/epilogue_block.txt 2> $R/epilogue_block.log
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -n 8 $R/epilogue_block.txt
tar czf $OUT/d.tgz -C $R .
date -u
