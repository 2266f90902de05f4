#!/usr/bin/env bash
# CPU (session 19): the fp8 bundles whose weights have register-fed e4m3 designs (decode_designs._RF_FP8_SM90:
# 8192x1024, 5120x1280, 6144x2560), per tensor and per token
cd /work/main && source .venv/bin/activate
B=.gpu/s19/b3; mkdir -p $B
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8 qwen3-4b-tp1-fp8 \
         llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
ls -la $B/*.agb
