#!/usr/bin/env bash
# On an H200 (one device call, about 7 minutes; its timeouts sum to under 10): does PDL pay once
# Inductor's own kernels are PDL neighbours of the bundle's GEMMs (TORCHINDUCTOR_ENABLE_PDL=1;
# docs/runtime.md, "Programmatic dependent launch")? Tunes an untuned fused Llama-3.1-8B bundle, checks
# that every chosen PDL kernel waits for an x written by Inductor's PDL kernel, then times three ways,
# each against the baseline in the same run, the deciding one first (should device time run out):
#   1. bench/epilogue_block.py --compiled: the decoder layer under torch.compile with Inductor's PDL off
#      and on, patched and not, CUDA-graphed, with the count of gdc_launch_dependents in Inductor's code;
#   2. bench/mlp_fused.py --pdl-writer: the MLP (gate_up + swiglu, down + residual) alone, after torch's
#      copy, and after Inductor's PDL copy (the baseline's fused epilogues compiled with PDL on as well);
#   3. aotgemm bench --pdl-writer: every layer x bucket, the same three ways.
# Usage (device call; the bundle built on the CPU beforehand, e.g. from
# bench/results/h200-2026-11-30/session4/manifests/llama-3.1-8b-fused-q.toml with --gpu H200_SXM --no-tune):
#   bash bench/pdl_neighbours.sh UNTUNED.agb $OUT/pdl
set -uo pipefail
bundle=${1:?untuned bundle}; out=${2:?output dir}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
python3 -c "import torch; print('torch', torch.__version__)"
timeout 110 python3 -m aotgemm.cli tune "$bundle" -o "$out/tuned.agb" > "$out/tune.log" 2>&1
echo "tune rc=$?"; tail -2 "$out/tune.log"
# correctness first: each chosen PDL kernel right after Inductor's PDL writer (it must wait for x)
AOTGEMM_TEST_BUNDLE="$out/tuned.agb" timeout 60 python3 -m pytest -q -s -p no:cacheprovider -rs \
  "tests/gpu/test_runtime_gpu.py::test_kernels_read_x_only_after_a_pdl_writer" > "$out/pdl_order.log" 2>&1
echo "pdl order rc=$?"; grep -E "replays|passed|failed|Error" "$out/pdl_order.log" | tail -3
timeout 220 python3 bench/epilogue_block.py "$out/tuned.agb" --compiled --no-aoti --m 1 16 128 2048 \
  --out "$out/epilogue_block.json" > "$out/epilogue_block.txt" 2> "$out/epilogue_block.log"
echo "epilogue_block rc=$?"; grep -E "generated modules" "$out/epilogue_block.log"; tail -7 "$out/epilogue_block.txt"
timeout 80 python3 bench/mlp_fused.py "$out/tuned.agb" --pdl-writer -o "$out/mlp_fused.json" > "$out/mlp_fused.txt" 2>&1
echo "mlp_fused rc=$?"; tail -8 "$out/mlp_fused.txt"
timeout 110 python3 -m aotgemm.cli bench "$out/tuned.agb" --pdl-writer -o "$out/bench" > "$out/bench.log" 2>&1
echo "bench rc=$?"; grep -E "^geomean|^in a model compiled" -A2 "$out/bench.log"
date -u
