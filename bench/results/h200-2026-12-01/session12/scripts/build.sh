#!/usr/bin/env bash
# CPU (session 12): the bf16, fused and per-tensor fp8 bundles at the working tree (x in power-of-two TMA boxes),
# H200 only, untuned.
cd /work/main && source .venv/bin/activate
B=.gpu/s12/b; M=bench/results/h200-2026-11-30/session4/manifests
for spec in $M/llama-3.1-8b-q.toml manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-70b-tp8.toml manifests/qwen3-4b-tp1.toml \
            $M/llama-3.1-8b-fused-q.toml manifests/llama-3.1-8b-fp8.toml manifests/qwen2.5-32b-tp4-fp8.toml \
            manifests/llama-3.1-70b-tp8-fp8.toml manifests/qwen3-4b-tp1-fp8.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
