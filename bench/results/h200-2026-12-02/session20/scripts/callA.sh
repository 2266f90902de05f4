#!/usr/bin/env bash
# session 20 call A: `aotgemm bench` now also measures the launch floor (timing.launch_floor_us) and prints the
# ceiling of a kernel at the floor plus one launch. The bf16 Qwen2.5-32B TP4 and Llama-3.1-8B bundles, the fp8
# per-tensor Llama-3.1-8B and Llama-3.1-70B TP8 ones, and the four per-channel fp8 ones (scales = "row": not
# benched since session 14), built at this commit (scripts/build.sh, build2.sh), tuned and benched twice each.
set -uo pipefail
S=bench/results/h200-2026-12-02/session19/scripts  # its tune_bench.sh: tune, then bench twice
# .gpu/whl: apache-tvm-ffi, and zstandard without its cffi backend (12 MB less, to keep the carried tree under
# 64 MiB; the C backend it imports first is kept)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -2
PYTHONPATH=/tmp/rt python3 -c "import zstandard, tvm_ffi; print('zstandard', zstandard.__version__, zstandard.backend)"
TAG=a B=.gpu/s20/b bash $S/tune_bench.sh qwen2.5-32b-tp4 llama-3.1-8b llama-3.1-8b-fp8 llama-3.1-70b-tp8-fp8 \
  llama-3.1-8b-fp8-row qwen3-4b-tp1-fp8-row qwen2.5-32b-tp4-fp8-row llama-3.1-70b-tp8-fp8-row
date -u
