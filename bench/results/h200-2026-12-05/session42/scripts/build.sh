#!/usr/bin/env bash
# Session 42, on the 2-core CPU machine (no GPU): the wheels and bundles the calls carried (git-ignored, under .gpu/).
set -euo pipefail
bash bench/stage_gpu_wheels.sh                   # .gpu/w2, .gpu/whl-tf (transformers' models/ cut: 9 MB)
bash bench/qkv_fusion_call.sh build              # .gpu/qkv/llama-3.1-8b-fused.agb: 117 kernels, 9 of them quack residual_add
bash bench/geglu_call.sh build                   # .gpu/gemma/gemma-2-9b-fused.agb: 107 kernels
bash bench/quack_linear_call.sh build            # .gpu/qlin/qwen2.5-32b-tp4.agb: quack alone, 28 kernels
python bench/fp8_decode_probe.py compile .gpu/s39/t64 --tma-table-64   # 120 e4m3 max_m 64 designs, 16 weights
