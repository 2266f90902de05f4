#!/usr/bin/env bash
# CPU (session 29): untuned H200 bundles with the max_m 128 TMA designs builds now offer for the two weights measured
# to win there (decode_designs.TMA_MEASURED_MAX_M): Llama-3.1-8B bf16 (down) and Qwen2.5-32B TP4 bf16 (qkv).
cd /work/main && source .venv/bin/activate
B=.gpu/s29/b; mkdir -p $B
for m in manifests/llama-3.1-8b.toml manifests/qwen2.5-32b-tp4.toml; do
  n=$(basename $m .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $m --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
done
ls -la $B/*.agb
