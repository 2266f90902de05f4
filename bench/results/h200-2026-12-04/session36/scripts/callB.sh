#!/usr/bin/env bash
# session 36 call B: cuBLASLt's own candidates (up to 32 from its heuristic) at the points where the stock call runs
# far from the floor, each checked against float32 and timed against the stock call with aotgemm.timing
# (bench/cublaslt_algo_probe.py, its default points). Carried: .gpu/w1 (the apache-tvm-ffi wheel alone).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/b36; rm -rf $R; mkdir -p $R
which nvcc; ls /usr/local/cuda/include/cublasLt.h 2>&1
CXX=/usr/bin/g++ python3 bench/cublaslt_algo_probe.py build $R/lt.so > $R/build.log 2>&1; echo "build rc=$?"; tail -5 $R/build.log
timeout 400 python3 bench/cublaslt_algo_probe.py run $R/lt.so --log $R > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; tail -50 $R/probe.log | cut -c1-220
tar czf $OUT/b.tgz -C $R --exclude lt.so .
