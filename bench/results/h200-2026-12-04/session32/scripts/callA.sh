#!/usr/bin/env bash
# session 32 call A: the tuner's tie rule (TIE 2%, tied finalists ordered by their speed-up as in a model times
# their speed-up back to back; session 31 had TIE 1% and back-to-back time alone) tried on the bundles
# scripts/build.sh built at edfde81: Qwen3-4B and Llama-3.1-70B TP8 bf16, then the four per-tensor fp8 ones,
# each tuned, then `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s32/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/a32; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/a.tgz -C $R .; }
tune_bench qwen3-4b-tp1 .gpu/s32/b $R 120 90
tune_bench llama-3.1-70b-tp8 .gpu/s32/b $R 120 90
for n in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do tune_bench $n .gpu/s32/b $R 60 45; done
date -u
