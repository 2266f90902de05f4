#!/usr/bin/env bash
# GPU call (device tool) for session 41's geglu epilogue (Gemma's gelu_tanh(gate) * up): its kernels had compiled
# on the CPU for sm_90a and sm_100a and never run. On a Gemma-2-9B bundle (manifests/gemma-2-9b-fused.toml: gate_up
# 28672 x 3584 geglu, the other layers plain, since Gemma 2 normalises o's and down's outputs before the residual add):
#   1. tests/gpu/check_epilogues.py: every decode kernel of the bundle (the geglu ones among them) at every M from 1
#      to its max_m on fresh random inputs, output poisoned, against the float32 reference;
#   2. `aotgemm tune` (geglu kernels against cuBLAS + Inductor's compiled gelu_tanh * mul, interleaved, the tuner's
#      margins), then `aotgemm bench` twice;
#   3. where transformers was staged into /tmp/tf (bench/qkv_fusion_call.sh stage, the call before):
#      examples/hf/patch_and_generate.py on a 4-layer Gemma-2-9B (its MLPs as aotgemm_linear_geglu calls).
#   on the CPU first:  bash bench/geglu_call.sh build       # .gpu/gemma/gemma-2-9b-fused.agb
#                      bash bench/stage_gpu_wheels.sh       # .gpu/w2 (and .gpu/whl-tf, for step 3)
#   one call, carry [.gpu/w2, .gpu/gemma]:   bash bench/geglu_call.sh run   (about 6 minutes)
set -uo pipefail
case ${1:-run} in
  build) bash bench/build_h200_bundle.sh manifests/gemma-2-9b-fused.toml .gpu/gemma ;;
  run)
    WHEELS=.gpu/w2 source bench/gpu_call_env.sh
    R=${OUT:-/tmp/out}/geglu; mkdir -p $R
    pack() { :; }
    git log --oneline | head -1
    timeout 150 python3 tests/gpu/check_epilogues.py .gpu/gemma/gemma-2-9b-fused.agb > $R/check_epilogues.txt 2>&1
    echo "check_epilogues rc=$?"; grep -c PASS $R/check_epilogues.txt; grep -E "FAIL|correct" $R/check_epilogues.txt | tail -4
    tune_bench gemma-2-9b-fused .gpu/gemma $R 150 100
    grep -E "gate_up" $R/bench/gemma-2-9b-fused.run1.log | head -16
    if [ -d /tmp/tf ]; then
      PYTHONPATH=$PYTHONPATH:/tmp/tf timeout 120 python3 examples/hf/patch_and_generate.py \
        $R/tune/gemma-2-9b-fused.agb --config examples/hf/gemma-2-9b-config.json --layers 4 --tokens 16 \
        > $R/patch_and_generate.txt 2>&1; echo "patch_and_generate rc=$?"; tail -n 8 $R/patch_and_generate.txt
    fi
    ;;
  *) echo "usage: bash bench/geglu_call.sh build|run" >&2; exit 2 ;;
esac
