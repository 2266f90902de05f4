#!/usr/bin/env bash
# session 36 call F: the Qwen2.5-32B TP4 bf16 bundle built with call E's measured designs for its lm_head
# (38016 x 5120: one warpgroup a CTA, decode_designs._TMA_SM90) (`aotgemm build manifests/qwen2.5-32b-tp4.toml
# --gpu H200_SXM --no-tune --sources aotgemm --sources cutlass_operators --sources quack`, 72 s on 2 cores):
# check_kernels on the untuned bundle, then tuned and `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s36/b2.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/f36; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/f.tgz -C $R .; }
n=qwen2.5-32b-tp4
timeout 200 python3 tests/gpu/check_kernels.py .gpu/s36/b2/$n.agb > $R/$n.check_kernels.log 2>&1
echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|checks|correct" $R/$n.check_kernels.log | tail -3 | cut -c1-200
pack
tune_bench $n .gpu/s36/b2 $R 200 150
grep -E "tune: lm_head +M= +(4|8|16|32) " $R/tune/$n.tune.log
date -u
