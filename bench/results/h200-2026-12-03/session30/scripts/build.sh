#!/usr/bin/env bash
# session 30, CPU side: the per-tensor fp8 Llama-3.1-70B TP8 bundle call E tunes, built from this session's tree (the
# e4m3 max_m 128 design for its qkv, 1280 x 8192, in decode_designs._TMA_FP8_SM90); no GPU. 60.7 s on 2 cores.
set -euo pipefail
aotgemm build manifests/llama-3.1-70b-tp8-fp8.toml --gpu H200_SXM --no-tune -o .gpu/s30/b/llama-3.1-70b-tp8-fp8.agb
