#!/usr/bin/env bash
# session 33 call B: as call A, with --wave-fit: quack tiles shaped as cuBLAS's kernels at these points (weight
# tiles of 64-208 rows filling about one wave of the 132 SMs), with and without split-K. Staged as call A.
set -uo pipefail
eval "$(bash .devwheels/b/install.sh)"
export PYTHONPATH=$PYTHONPATH:$PWD PYTHONUNBUFFERED=1
date -u
timeout 570 python3 bench/midm_splitk_probe.py --wave-fit --json $OUT/wavefit.json 2>&1 | grep -v -i "warn" \
  | tee $OUT/wavefit.txt | tail -52
