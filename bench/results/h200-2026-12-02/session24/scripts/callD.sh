#!/usr/bin/env bash
# session 24 call D: (1) the MLP's GEMMs with and without their PDL release (scripts/mlp_pdl.py over compileC.py's
# kernels, .gpu/s24/c) at M = 4, 8, 16; (2) the fused Llama-3.1-8B bundle whose decode kernels release late
# (scripts/build_late.py, .gpu/s24/late) tuned, and bench/mlp_fused.py with it and with session 23's tuned fused
# bundle (.gpu/s23/t) on this machine; (3) the plain Llama-3.1-8B late bundle tuned, and `aotgemm bench` of it and
# of session 23's tuned one.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
S=bench/results/h200-2026-12-02/session24/scripts
R=$OUT; mkdir -p $R/tune $R/bench $R/agb
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 120 python3 $S/mlp_pdl.py .gpu/s24/c --m 4,8,16 -o $R/mlp_pdl.json > $R/mlp_pdl.txt 2>&1
echo "pdl rc=$?"; grep -v "^aotgemm" $R/mlp_pdl.txt | tail -60; date -u
timeout 120 python3 -m aotgemm.cli tune .gpu/s24/late/llama-3.1-8b-fused.agb -o $R/agb/llama-3.1-8b-fused.agb \
  > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(date -u +%T)"
for b in late:$R/agb/llama-3.1-8b-fused.agb s23:.gpu/s23/t/llama-3.1-8b-fused.agb; do
  timeout 60 python3 bench/mlp_fused.py ${b#*:} --m 1,4,8,16,128,2048 -o $R/bench/mlp.${b%%:*}.json > $R/bench/mlp.${b%%:*}.txt 2>&1
  echo "mlp ${b%%:*} rc=$?"; tail -8 $R/bench/mlp.${b%%:*}.txt
done; date -u
timeout 120 python3 -m aotgemm.cli tune .gpu/s24/late/llama-3.1-8b.agb -o $R/agb/llama-3.1-8b.agb > $R/tune/llama-3.1-8b.tune.log 2>&1
echo "tune l8b rc=$? $(date -u +%T)"
for b in late:$R/agb/llama-3.1-8b.agb s23:.gpu/s23/t/llama-3.1-8b.agb; do
  timeout 80 python3 -m aotgemm.cli bench ${b#*:} -o $R/bench/llama-3.1-8b.${b%%:*} > $R/bench/llama-3.1-8b.${b%%:*}.log 2>&1
  echo "bench ${b%%:*} rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/llama-3.1-8b.${b%%:*}.log | tr '\n' ' ' | cut -c1-260; echo
done; date -u
