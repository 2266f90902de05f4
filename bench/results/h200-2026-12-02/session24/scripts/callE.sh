#!/usr/bin/env bash
# session 24 call E: (1) scripts/mlp_pdl.py --model over compileC.py's kernels (.gpu/s24/c) at M = 4, 8, 16: the
# PDL variants as in a model, where a copy kernel writes x before each MLP; (2) bench/mlp_fused.py with session 23's
# tuned fused bundle (.gpu/s23/t) at M = 1, 4, 8, 16, 128, 2048, 45 rounds, also with Inductor's PDL writer.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
S=bench/results/h200-2026-12-02/session24/scripts
R=/tmp/e24; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/e.tgz -C $R .; }
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 150 python3 $S/mlp_pdl.py .gpu/s24/c --m 4,8,16 --model -o $R/mlp_pdl_model.json > $R/mlp_pdl_model.txt 2>&1
echo "pdl model rc=$?"; grep -v "^aotgemm" $R/mlp_pdl_model.txt | grep -v "^  alone" | tail -70; date -u; pack
timeout 200 python3 bench/mlp_fused.py .gpu/s23/t/llama-3.1-8b-fused.agb --m 1,4,8,16,128,2048 --trials 45 --pdl-writer \
  -o $R/mlp_s23_t45.json > $R/mlp_s23_t45.txt 2>&1
echo "mlp rc=$?"; tail -10 $R/mlp_s23_t45.txt; date -u; pack
