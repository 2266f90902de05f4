#!/usr/bin/env bash
# CPU (session 18): untuned H200 bundles with the evict-first weight loads (TMA and cp.async kernels)
cd /work/main && source .venv/bin/activate
B=.gpu/s18/b; mkdir -p $B
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b-fused llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
ls -la $B/*.agb
