#!/usr/bin/env bash
# session 19 call E: the bf16 Llama-3.1-70B TP8 and Qwen2.5-32B TP4 bundles built with the register-fed designs
# (.gpu/s19/b2, build2.sh) tuned and benched twice each, every kernel of the tuned bundles run directly; then the
# --rf grid on the three K = 2560 / 9728 weights of Qwen3-4B (.gpu/s19/rf2) at M = 4, 8, 9, 16.
set -uo pipefail
S=bench/results/h200-2026-12-02/session19/scripts
TAG=e B=.gpu/s19/b2 bash $S/tune_bench.sh llama-3.1-70b-tp8 qwen2.5-32b-tp4
TAG=e bash $S/kernels_direct.sh /tmp/e/tune/llama-3.1-70b-tp8.agb /tmp/e/tune/qwen2.5-32b-tp4.agb
timeout 200 python3 bench/decode_probe.py run .gpu/s19/rf2 --ms 4,8,9,16 --log /tmp/e/rf2 > /tmp/e/rf2.log 2>&1
echo "probe rc=$?"; tail -3 /tmp/e/rf2.log; tar czf $OUT/e.tgz -C /tmp/e .; date -u
