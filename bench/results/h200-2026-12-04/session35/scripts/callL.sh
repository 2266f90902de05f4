#!/usr/bin/env bash
# session 35 call L: the Llama-3.1-8B bf16 bundle of scripts/build5.sh (call K's table entries, and this session's
# decode kernels): check_kernels on the untuned bundle, then tuned and `aotgemm bench` twice. Carried: .gpu/whl,
# .gpu/s35/b5.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/l35; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/l.tgz -C $R .; }
n=llama-3.1-8b
timeout 100 python3 tests/gpu/check_kernels.py .gpu/s35/b5/$n.agb > $R/$n.check_kernels.log 2>&1
echo "check_kernels $n rc=$? $(date -u +%T)"; tail -n 1 $R/$n.check_kernels.log | cut -c1-200
pack
tune_bench $n .gpu/s35/b5 $R 120 60
date -u
