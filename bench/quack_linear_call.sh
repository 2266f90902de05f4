#!/usr/bin/env bash
# GPU call (device tool) for session 42's quack epilogues `bias` and `residual_add` (quack's default epilogue: the
# bias as its row vector, the residual as the GEMM's C): they compiled for sm_90a and sm_100a on the CPU, and their
# SASS loads and adds each operand (tests/test_quack_source.py), but they have never run.
# On the bundle of `aotgemm manifest from-hf` for Qwen2.5-32B at TP 4 (qkv 1792 x 5120 with its bias, o 5120 x 1280
# and down 5120 x 6912 with the residual add), built with quack alone (so every kernel at M >= 256 is quack's):
# bench/source_kernels.py checks each bias and residual_add kernel against the float32 reference on fresh random
# inputs, output poisoned (M = 1, 77, 300, 1000, 2049), and times it at every M bucket from 256 against cuBLAS +
# Inductor's compiled add, interleaved.
#   on the CPU first:  bash bench/quack_linear_call.sh build      # .gpu/qlin/qwen2.5-32b-tp4.agb, a few minutes
#                      bash bench/stage_gpu_wheels.sh              # .gpu/w2
#   one call, carry [.gpu/w2, .gpu/qlin]:   bash bench/quack_linear_call.sh run   (about 2 minutes)
set -uo pipefail
case ${1:-run} in
  build)
    source .venv/bin/activate
    mkdir -p .gpu/qlin
    aotgemm manifest from-hf examples/hf/qwen2.5-32b-config.json --tp 4 --gpu H200_SXM --m-bucket 256 \
      --m-bucket 512 --m-bucket 1024 --m-bucket 2048 --m-bucket 4096 -o .gpu/qlin/qwen2.5-32b-tp4.toml
    aotgemm build .gpu/qlin/qwen2.5-32b-tp4.toml --no-tune --top-k 3 --sources quack \
      -o .gpu/qlin/qwen2.5-32b-tp4.agb
    ;;
  run)
    WHEELS=.gpu/w2 source bench/gpu_call_env.sh
    R=${OUT:-/tmp/out}/quack-linear; mkdir -p $R
    git log --oneline | head -1
    for ep in bias residual_add; do
      timeout 240 python3 bench/source_kernels.py .gpu/qlin/qwen2.5-32b-tp4.agb --source quack --epilogue $ep \
        --trials 9 -o $R/source_kernels.$ep.json > $R/source_kernels.$ep.txt 2>&1
      echo "source_kernels $ep rc=$?"; tail -n 25 $R/source_kernels.$ep.txt
    done
    ;;
  *) echo "usage: bash bench/quack_linear_call.sh build|run" >&2; exit 2 ;;
esac
