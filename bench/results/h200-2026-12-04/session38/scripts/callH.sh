#!/usr/bin/env bash
# session 38 call H: the twelve fp8 bundles (per tensor, per token, per output channel; scripts/build.sh with
# OUT=.gpu/s38/h) built with the final tables, call A's max_m 8 TMA designs and call G's max_m 16 and 32 ones:
# check_kernels on each, tuned, `aotgemm bench` twice. Carried: .gpu/w2 (the apache-tvm-ffi and zstandard wheels),
# .gpu/s38/h.
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/h38; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/h.tgz -C $R .; }
for d in t w r; do
  for b in .gpu/s38/h/$d/*.agb; do
    n=$(basename $b .agb)
    timeout 60 python3 tests/gpu/check_kernels.py $b > $R/$n.check_kernels.log 2>&1
    echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|correct" $R/$n.check_kernels.log | tail -1 | cut -c1-200
    tune_bench $n .gpu/s38/h/$d $R 100 70
  done
done
date -u
