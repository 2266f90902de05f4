#!/usr/bin/env bash
# GPU call G (session 10): the decoder layer under torch.compile twice with call F's tuned fused bundle, after the
# compile-time unfusing rule got the gate and up GEMMs apart.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/g; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
for run in run1 run2; do
  timeout 100 python3 bench/epilogue_block.py .gpu/b/fused.tuned.agb --compiled --no-aoti --m 1 16 128 2048 \
    --out $R/epilogue_block.$run.json > $R/epilogue_block.$run.txt 2> $R/epilogue_block.$run.log
  echo "epilogue_block $run rc=$?"; tail -n 6 $R/epilogue_block.$run.txt
  tar czf $OUT/g.tgz -C $R .
done
date -u
