#!/usr/bin/env bash
# CPU (session 19): the bf16 Llama-3.1-70B TP8 and Qwen2.5-32B TP4 bundles with the register-fed designs
# (decode_designs._RF_SM90: 8192x1024 and 5120x1280, their o projections)
cd /work/main && source .venv/bin/activate
B=.gpu/s19/b2; mkdir -p $B
for n in llama-3.1-70b-tp8 qwen2.5-32b-tp4; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
ls -la $B/*.agb
