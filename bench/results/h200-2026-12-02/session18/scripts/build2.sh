#!/usr/bin/env bash
# CPU (session 18): the other untuned H200 bundles of the README's table, with the evict-first weight loads
cd /work/main && source .venv/bin/activate
B=.gpu/s18/b2; mkdir -p $B
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
ls -la $B/*.agb
