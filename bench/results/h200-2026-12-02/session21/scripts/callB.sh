#!/usr/bin/env bash
# session 21 call B: the tuner with tune._margin_over_draws. The untuned fused Llama-3.1-8B bundle tuned and the
# MLP timed with it twice (bench/mlp_fused.py); then Qwen3-4B, Qwen2.5-32B TP4 and Llama-3.1-8B (bf16), the
# bundles where the rule would have changed the most choices, tuned and benched twice each (session 19's
# tune_bench.sh, the same commands as session 20's calls A and D). Untuned bundles: session 20's scripts/build*.sh
# (.gpu/s20/b), whose kernels are this commit's.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/b21; rm -rf $R; mkdir -p $R/tune
timeout 120 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb \
  > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(date -u +%T)"; grep -E "gate_up +M= +(1|2|4|8|16|32) " $R/tune/llama-3.1-8b-fused.tune.log
for run in run1 run2; do
  timeout 90 python3 bench/mlp_fused.py $R/tune/llama-3.1-8b-fused.agb --pdl-writer -o $R/mlp_fused.$run.json \
    > $R/mlp_fused.$run.txt 2>&1
  echo "mlp $run rc=$?"; tail -7 $R/mlp_fused.$run.txt
done
rm -f $R/tune/*.agb; mkdir -p $OUT/fused; cp -r $R/* $OUT/fused/
TAG=b B=.gpu/s20/b bash bench/results/h200-2026-12-02/session19/scripts/tune_bench.sh qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b
date -u
