#!/usr/bin/env bash
# session 19 call G: the six fp8 bundles with register-fed e4m3 designs (.gpu/s19/b3, build3.sh) tuned and benched
# twice each; every kernel of the three per-tensor ones run directly at every M it serves
set -uo pipefail
S=bench/results/h200-2026-12-02/session19/scripts
TAG=g B=.gpu/s19/b3 bash $S/tune_bench.sh llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 qwen3-4b-tp1-fp8 \
  llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise
TAG=g bash $S/kernels_direct.sh /tmp/g/tune/llama-3.1-70b-tp8-fp8.agb /tmp/g/tune/qwen2.5-32b-tp4-fp8.agb \
  /tmp/g/tune/qwen3-4b-tp1-fp8.agb
date -u
