#!/usr/bin/env bash
# GPU call C (session 14): the tuner splits a bucket whose winner loses only near its lower edge (tune._split_from,
# DispatchEntry.min_m). The fused and bf16 Llama-3.1-8B bundles and Qwen2.5-32B TP4 tuned with it, benched twice
# (bench also times each split's lowest M); then the Llama-3.1-8B MLP with the fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv,noheader; date -u
R=/tmp/c; mkdir -p $R
bash .gpu/s14/tune_bench.sh $R $OUT/c.tgz llama-3.1-8b-fused-q llama-3.1-8b-q qwen2.5-32b-tp4
date -u
timeout 75 python3 bench/mlp_fused.py $R/tune/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 6 $R/mlp_fused.txt
tar czf $OUT/c.tgz -C $R .
date -u
