#!/usr/bin/env bash
# On a GPU host: runtime + AOTI GPU tests, then the startup bench. Usage: bash bench/gpu_final_check.sh OUTDIR
set -uo pipefail
out=${1:?output dir}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
AOTGEMM_TEST_BUNDLE=$PWD/.gpu/llama-heuristic-h100.agb timeout 150 python3 -m pytest -q -p no:cacheprovider -s \
  tests/gpu/test_runtime_gpu.py > "$out/runtime_gpu.log" 2>&1; echo "runtime gpu tests rc=$?"; tail -3 "$out/runtime_gpu.log"
timeout 150 python3 bench/startup.py --bundle .gpu/llama-tuned-h100.agb --repeats 3 --out "$out/startup.json" \
  > "$out/startup.log" 2>&1; echo "startup rc=$?"; sed -n 1,30p "$out/startup.log"
AOTGEMM_TEST_BUNDLE=$PWD/.gpu/llama-heuristic-h100.agb timeout 260 python3 -m pytest -q -p no:cacheprovider -s \
  tests/gpu/test_aoti_gpu.py > "$out/aoti_gpu.log" 2>&1; echo "aoti gpu tests rc=$?"; grep -E "time to first|passed|failed" "$out/aoti_gpu.log" | tail -4
