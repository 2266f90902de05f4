#!/usr/bin/env bash
# Session 43 call B (carry .devwheels/b; right after call A, whose /opt/dw holds part a): the DSL toolchain and quack
# installed, then bench/midm_splitk_probe.py --fp8 (session 40's, not run before): quack's e4m3 GEMMs with in-kernel
# split-K (SplitKMode.SERIAL) against torch._scaled_mm at M = 128, 256, 512 on the four manifests' tensor-parallel
# weights, where _scaled_mm runs at 30-67% of the fp8 floor.
eval "$(bash .devwheels/b/install.sh)"
export PYTHONPATH=$PYTHONPATH:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
timeout 500 python3 bench/midm_splitk_probe.py --fp8 --json $OUT/midm_fp8.json 2>&1 | grep -v Warning \
  > $OUT/midm_fp8.txt; echo "probe rc=$?"; date -u; tail -n 45 $OUT/midm_fp8.txt
