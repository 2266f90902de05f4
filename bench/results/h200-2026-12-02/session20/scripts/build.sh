#!/usr/bin/env bash
# CPU (session 20): untuned H200 bundles
cd /work/main && source .venv/bin/activate
B=.gpu/s20/b; mkdir -p $B
for m in manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-8b.toml manifests/llama-3.1-8b-fp8.toml .gpu/s20/llama-3.1-8b-fp8-row.toml \
         manifests/llama-3.1-70b-tp8-fp8.toml manifests/llama-3.1-8b-fused.toml; do
  n=$(basename $m .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $m --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
done
ls -la $B/*.agb
