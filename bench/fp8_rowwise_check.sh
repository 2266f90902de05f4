#!/usr/bin/env bash
# On an H200 (one device call, about 1 minute): an fp8 bundle's kernels on the GPU, made for the per-token form
# (epilogue scale_rowwise; session 10's B and C) and as good for the per-channel one (scale_row). Every kernel of
# the untuned bundle called directly against the float32 reference on the dequantized operands, NaN-poisoned
# outputs (tests/gpu/test_runtime_gpu.py::test_every_kernel_directly); then the bundle tuned against
# torch._scaled_mm's row-wise form and `aotgemm bench` of it, twice.
# The bundle is built on the CPU beforehand, e.g. from a shipped per-token manifest:
#   aotgemm build manifests/llama-3.1-8b-fp8-rowwise.toml --gpu H200_SXM --no-tune -o .gpu/llama-3.1-8b-fp8-rowwise.agb
# or, per channel, from the per-tensor one:
#   sed 's/^scales = "tensor"/scales = "row"/; s/^name = "\(.*\)-fp8"/name = "\1-fp8-row"/' \
#     manifests/llama-3.1-8b-fp8.toml > /tmp/row.toml
# Usage (device call): bash bench/fp8_rowwise_check.sh UNTUNED.agb $OUT/rowwise
set -uo pipefail
bundle=${1:?untuned rowwise bundle}; out=${2:?output dir}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
AOTGEMM_TEST_BUNDLE=$bundle timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
  "tests/gpu/test_runtime_gpu.py::test_every_kernel_directly" > "$out/direct.log" 2>&1
echo "direct rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" "$out/direct.log" | tail -5
timeout 150 python3 -m aotgemm.cli tune "$bundle" -o "$out/tuned.agb" > "$out/tune.log" 2>&1
echo "tune rc=$?"; tail -2 "$out/tune.log"
for run in run1 run2; do
  timeout 60 python3 -m aotgemm.cli bench "$out/tuned.agb" -o "$out/$run" > "$out/$run.log" 2>&1
  echo "bench $run rc=$?"; grep -E "^geomean" -A2 "$out/$run.log"
done
date -u
