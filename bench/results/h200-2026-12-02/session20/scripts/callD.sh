#!/usr/bin/env bash
# session 20 call D: the remaining bf16 (Qwen3-4B, Llama-3.1-70B TP8) and per-tensor fp8 (Qwen3-4B, Qwen2.5-32B TP4)
# bundles built at this commit (scripts/build3.sh), tuned and benched twice, for each bundle's ceilings with the
# launch floor measured in the same run
set -uo pipefail
S=bench/results/h200-2026-12-02/session19/scripts  # its tune_bench.sh: tune, then bench twice
TAG=d B=.gpu/s20/d bash $S/tune_bench.sh qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 qwen3-4b-tp1 llama-3.1-70b-tp8
date -u
