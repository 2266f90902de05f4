#!/usr/bin/env bash
# CPU (session 23): untuned H200 bundles with the whole-row ("coal") cp.async designs builds now offer
# (decode_designs._COAL_SM90): Llama-3.1-8B bf16 and fused, Qwen2.5-32B TP4 bf16
cd /work/main && source .venv/bin/activate
B=.gpu/s23/b; mkdir -p $B
for m in manifests/llama-3.1-8b.toml manifests/llama-3.1-8b-fused.toml manifests/qwen2.5-32b-tp4.toml; do
  n=$(basename $m .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $m --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
done
ls -la $B/*.agb
