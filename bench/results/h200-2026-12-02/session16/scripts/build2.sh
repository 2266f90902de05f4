#!/usr/bin/env bash
# CPU (session 16, after call D): the two Qwen bundles with the rule's two-CTAs-per-SM shared-memory cap
cd /work/main && source .venv/bin/activate
B=.gpu/s16/b2; mkdir -p $B
for n in qwen2.5-32b-tp4 qwen3-4b-tp1; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
