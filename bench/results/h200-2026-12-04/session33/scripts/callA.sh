#!/usr/bin/env bash
# session 33 call A: quack's Hopper GEMM with in-kernel split-K (SplitKMode.SERIAL) against cuBLAS at M = 128, 256,
# 512 on the four bf16 manifests' weights, and cuBLAS's kernel names there (bench/midm_splitk_probe.py). quack runs
# through its own JIT here, so the toolchain was staged first (bash ../shared/gpuhost/stage-wheels.sh on the CPU
# machine; one run carrying .devwheels/a that copied it to /opt/dw, then this one carrying .devwheels/b).
set -uo pipefail
eval "$(bash .devwheels/b/install.sh)"
export PYTHONPATH=$PYTHONPATH:$PWD PYTHONUNBUFFERED=1
date -u
timeout 540 python3 bench/midm_splitk_probe.py --json $OUT/midm.json 2>&1 | grep -v Warning | tee $OUT/midm.txt | tail -80
