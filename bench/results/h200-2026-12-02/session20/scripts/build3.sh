#!/usr/bin/env bash
# CPU (session 20): the other bf16 and per-tensor fp8 bundles, for call D
cd /work/main && source .venv/bin/activate
B=.gpu/s20/b
for n in qwen3-4b-tp1 llama-3.1-70b-tp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
done
