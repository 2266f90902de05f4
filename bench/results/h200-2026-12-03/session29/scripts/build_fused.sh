#!/usr/bin/env bash
# CPU (session 29): the untuned Llama-3.1-8B fused-epilogue bundle, whose down + residual_add layer now also gets
# the max_m 128 TMA design (decode_designs.TMA_MEASURED_MAX_M) with the residual add in its output stage.
cd /work/main && source .venv/bin/activate
B=.gpu/s29/b; mkdir -p $B
n=llama-3.1-8b-fused
/usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
   --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
