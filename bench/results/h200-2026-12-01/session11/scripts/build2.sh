#!/usr/bin/env bash
# CPU (session 11): the other three per-tensor fp8 bundles and the fused Llama bundle, H200 only, untuned, at HEAD.
cd /work/main && source .venv/bin/activate
B=.gpu/s11/b
for spec in .gpu/s11/man/qwen2.5-32b-tp4-fp8-row.toml manifests/qwen2.5-32b-tp4-fp8.toml manifests/llama-3.1-70b-tp8-fp8.toml manifests/qwen3-4b-tp1-fp8.toml \
            bench/results/h200-2026-11-30/session4/manifests/llama-3.1-8b-fused-q.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
