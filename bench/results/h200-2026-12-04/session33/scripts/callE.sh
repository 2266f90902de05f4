#!/usr/bin/env bash
# session 33 call E: the Qwen3-4B and Llama-3.1-8B per-tensor fp8 bundles of scripts/build.sh tuned and `aotgemm
# bench` twice each, as call D. Carried: .gpu/whl, .gpu/s33/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/e33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/e.tgz -C $R .; }
for n in qwen3-4b-tp1-fp8 llama-3.1-8b-fp8; do tune_bench $n .gpu/s33/b $R 120 60; done
date -u
