#!/usr/bin/env bash
# GPU calls (device tool) for session 40's change: patch() and the AOTInductor rewrite serve transformers' separate
# q/k/v projections from the bundle's merged qkv GEMM (runtime/fuse_transformers.py fuse_projections, aoti/rewrite_merge.py).
# What it shows, on a tuned Llama-3.1-8B bundle with fused epilogues (manifests/llama-3.1-8b-fused.toml): the GPU
# tests of the runtime, the new one among them, examples/hf/patch_and_generate.py on a 4-layer Llama-3.1-8B (logits
# as unpatched, bundle hits, nothing left unserved), the AOTInductor package of a block with separate q/k/v, and transformers' LlamaDecoderLayer eager vs eager-patched,
# AOTInductor vs AOTInductor + bundle, torch.compile vs compiled-patched (bench/epilogue_block.py, twice), where
# session 13 (bench/results/h200-2026-12-01/session13, before the fusion: q/k/v left to cuBLAS) had 1.072x / 1.087x
# / 1.113x at M = 1.
#
# The tracked tree (about 42 MiB) and the transformers wheels (21 MiB) do not fit one call's 64 MiB beside the
# runtime's wheels and the bundle, so calls back to back (the machine stays warm about 30 s; /tmp persists):
#   on the CPU first:  bash bench/qkv_fusion_call.sh build            # .gpu/qkv/llama-3.1-8b-fused.agb, ~3 min
#                      bash bench/stage_gpu_wheels.sh          # the wheels: .gpu/w2 (apache-tvm-ffi, zstandard)
#                                                              # and .gpu/whl-tf (transformers 5.25 and what it imports)
#   call 1, carry [.gpu/whl-tf]:                 bash bench/qkv_fusion_call.sh stage
#   call 2, carry [.gpu/w2, .gpu/qkv]:           bash bench/qkv_fusion_call.sh run     (about 7 minutes)
#   call 3, carry [.gpu/w2]:                     bash bench/qkv_fusion_call.sh aoti    (about 5 minutes)
set -uo pipefail
case ${1:-run} in
  build) bash bench/build_h200_bundle.sh manifests/llama-3.1-8b-fused.toml .gpu/qkv ;;
  stage)  # transformers into /tmp/tf, which the next call on this warm machine finds
    python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/tf .gpu/whl-tf/*.whl
    python3 -c "import sys; sys.path.insert(0, '/tmp/tf'); import transformers; print('transformers', transformers.__version__)"
    ;;
  run)  # about 7 minutes: tune, the runtime's GPU tests, the example, the decoder layer eager and compiled twice
    test -d /tmp/tf || { echo "no /tmp/tf: run 'stage' first, in a call just before this one" >&2; exit 1; }
    WHEELS=.gpu/w2 source bench/gpu_call_env.sh
    export PYTHONPATH=$PYTHONPATH:/tmp/tf
    R=${OUT:-/tmp/out}/qkv; mkdir -p $R /tmp/qkv
    git log --oneline | head -1
    # 200 s: session 34 tuned this bundle in 71 s; it now also holds quack's residual_add candidates for o and down
    timeout 200 python3 -m aotgemm.cli tune .gpu/qkv/llama-3.1-8b-fused.agb -o /tmp/qkv/fused.tuned.agb > $R/tune.log 2>&1
    echo "tune rc=$?"; tail -n 1 $R/tune.log
    AOTGEMM_TEST_BUNDLE=/tmp/qkv/fused.tuned.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
      tests/gpu/test_runtime_gpu.py > $R/tests_runtime.log 2>&1
    echo "runtime gpu tests rc=$?"; grep -E "kernel runs|replays|passed|failed" $R/tests_runtime.log | tail -4
    timeout 120 python3 examples/hf/patch_and_generate.py /tmp/qkv/fused.tuned.agb --layers 4 --tokens 16 \
      > $R/patch_and_generate.txt 2>&1; echo "patch_and_generate rc=$?"; tail -n 8 $R/patch_and_generate.txt
    for run in run1 run2; do
      timeout 100 python3 bench/epilogue_block.py /tmp/qkv/fused.tuned.agb --compiled --no-aoti --m 1 16 128 2048 \
        --out $R/epilogue_block.$run.json > $R/epilogue_block.$run.txt 2> $R/epilogue_block.$run.log
      echo "epilogue_block $run rc=$?"; tail -n 7 $R/epilogue_block.$run.txt
    done
    ;;
  aoti)  # a third call, on the same warm machine: the AOTInductor rows (about 5 minutes)
    test -e /tmp/qkv/fused.tuned.agb || { echo "no tuned bundle: run 'run' first, in a call just before" >&2; exit 1; }
    WHEELS=.gpu/w2 source bench/gpu_call_env.sh
    export PYTHONPATH=$PYTHONPATH:/tmp/tf
    R=${OUT:-/tmp/out}/qkv-aoti; mkdir -p $R
    AOTGEMM_TEST_BUNDLE=/tmp/qkv/fused.tuned.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
      tests/gpu/test_aoti_gpu.py -k separate_qkv > $R/tests_aoti.log 2>&1
    echo "aoti separate-qkv test rc=$?"; grep -E "separate q/k/v|passed|failed" $R/tests_aoti.log | tail -6
    timeout 300 python3 bench/epilogue_block.py /tmp/qkv/fused.tuned.agb --m 1 16 128 2048 \
      --out $R/epilogue_block.aoti.json > $R/epilogue_block.aoti.txt 2> $R/epilogue_block.aoti.log
    echo "epilogue_block (eager and AOTInductor rows) rc=$?"; tail -n 7 $R/epilogue_block.aoti.txt
    ;;
  *) echo "usage: bash bench/qkv_fusion_call.sh build|stage|run|aoti" >&2; exit 2 ;;
esac
