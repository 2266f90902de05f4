#!/usr/bin/env bash
# CPU (session 16): untuned H200 bundles with decode_tma's vectorised output stage
cd /work/main && source .venv/bin/activate
B=.gpu/s16/b; mkdir -p $B
for n in llama-3.1-8b llama-3.1-8b-fused qwen2.5-32b-tp4; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
