#!/usr/bin/env bash
# Session 42 call A (carry .gpu/whl-tf .gpu/w2 .gpu/qkv; tree at 8285004): session 40's q/k/v fusion on a tuned
# Llama-3.1-8B fused bundle: tests/gpu/test_runtime_gpu.py, examples/hf/patch_and_generate.py on 4 layers, and
# bench/epilogue_block.py --compiled --no-aoti twice.
bash bench/qkv_fusion_call.sh stage && bash bench/qkv_fusion_call.sh run
