#!/usr/bin/env bash
# session 21 call E: what the fused gate_up kernel would give the MLP at M = 4-16, where every tune keeps cuBLAS +
# SwiGLU for gate_up (its own win, 1.02x-1.03x as in a model, is under the margin): bench/mlp_fused.py on the
# fused Llama-3.1-8B bundle tuned here (cuBLAS for gate_up at M = 4-16) and untuned (the heuristic's fused kernels
# everywhere), one after the other on one machine.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/e; rm -rf $R; mkdir -p $R
timeout 120 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tuned.agb > $R/tune.log 2>&1
echo "tune rc=$?"; grep -E "gate_up +M= +(4|8|16) " $R/tune.log | cut -c1-200
for b in tuned untuned; do
  f=$R/tuned.agb; [ $b = untuned ] && f=.gpu/s20/b/llama-3.1-8b-fused.agb
  timeout 60 python3 bench/mlp_fused.py $f --m 4,8,16 -o $R/mlp_$b.json > $R/mlp_$b.txt 2>&1
  echo "mlp $b rc=$?"; tail -5 $R/mlp_$b.txt
done
rm -f $R/tuned.agb; cp $R/* $OUT/; date -u
