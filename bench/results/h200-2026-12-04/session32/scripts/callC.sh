#!/usr/bin/env bash
# session 32 call C: the four per-tensor fp8 bundles of scripts/build.sh tuned by call B's tuner (tie rule, and
# back-to-back checks on the fresh draws), then `aotgemm bench` twice each; then tests/gpu/test_runtime_gpu.py and
# test_aoti_gpu.py with call B's tuned Llama-3.1-8B bf16 bundle (every kernel at every M against float32; the
# runtime, torch.compile, CUDA graphs and AOTInductor routing what the tuner kept). Carried: .gpu/whl, .gpu/s32/b,
# .gpu/s32/t (call B's tuned llama-3.1-8b.agb).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/c32; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/c.tgz -C $R .; }
for n in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do tune_bench $n .gpu/s32/b $R 60 45; done
AOTGEMM_TEST_BUNDLE=.gpu/s32/t/llama-3.1-8b.agb timeout 240 python3 -m pytest -q -s -p no:cacheprovider -rs \
  --durations 4 tests/gpu/test_runtime_gpu.py tests/gpu/test_aoti_gpu.py > $R/bf16.log 2>&1
echo "bf16 tests rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/bf16.log | tail -5 | cut -c1-200
pack; date -u
