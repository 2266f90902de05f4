#!/usr/bin/env bash
# session 35, CPU side: untuned bundles whose decode kernels carry the other epilogues through decode_tma's output
# stage as this session changed it (store_outputs, ragged_n): the fused Llama-3.1-8B one (bias, residual_add,
# swiglu) and the per-tensor, per-channel and per-token fp8 Llama-3.1-8B ones, with the quack source.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s35/b3; mkdir -p $B
for m in llama-3.1-8b-fused llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
sed 's/scales = "tensor"/scales = "row"/; s/^name = "llama-3.1-8b-fp8"/name = "llama-3.1-8b-fp8-row"/' \
  manifests/llama-3.1-8b-fp8.toml > $B/llama-3.1-8b-fp8-row.toml
/usr/bin/time -f "llama-3.1-8b-fp8-row wall %e s" aotgemm build $B/llama-3.1-8b-fp8-row.toml --gpu H200_SXM --no-tune \
  --sources aotgemm --sources cutlass_operators --sources quack -o $B/llama-3.1-8b-fp8-row.agb \
  > $B/llama-3.1-8b-fp8-row.build.log 2>&1
tail -n 1 $B/llama-3.1-8b-fp8-row.build.log
