#!/usr/bin/env bash
# GPU call F (session 10): the compile-time unfusing rule again, now without the is_exporting test that torch 2.11
# folds to True under torch.compile (call E's probe): probe, re-tune the fused bundle, the decoder layer twice.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/f; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
python3 .gpu/s10/dynprobe.py 2>&1 | tail -3
timeout 110 python3 -m aotgemm.cli tune .gpu/b/llama-3.1-8b-fused-q.agb -o $R/fused.tuned.agb > $R/tune.log 2>&1
echo "tune rc=$?"; tail -n 1 $R/tune.log
for run in run1 run2; do
  timeout 100 python3 bench/epilogue_block.py $R/fused.tuned.agb --compiled --no-aoti --m 1 16 128 2048 \
    --out $R/epilogue_block.$run.json > $R/epilogue_block.$run.txt 2> $R/epilogue_block.$run.log
  echo "epilogue_block $run rc=$?"; tail -n 6 $R/epilogue_block.$run.txt
  tar czf $OUT/f.tgz -C $R .
done
timeout 60 python3 bench/mlp_fused.py $R/fused.tuned.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 6 $R/mlp_fused.txt
tar czf $OUT/f.tgz -C $R . ; date -u
