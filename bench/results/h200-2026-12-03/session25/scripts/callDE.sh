#!/usr/bin/env bash
# session 25: calls D and E in one machine's time (machines were hard to get): callD.sh, then callE.sh on the
# Qwen3-4B and Llama-3.1-8B per-tensor fp8 bundles.
S=bench/results/h200-2026-12-03/session25/scripts
bash $S/callD.sh
bash $S/callE.sh qwen3-4b-tp1-fp8 llama-3.1-8b-fp8
