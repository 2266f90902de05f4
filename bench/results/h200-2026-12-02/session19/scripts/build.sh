#!/usr/bin/env bash
# CPU (session 19): untuned H200 fp8 bundles with the e4m3 CUDA-core max_m 2 designs
# (decode_designs._SIMT_M2_FP8_SM90): the four per-tensor and the four per-token (row-wise) manifests
cd /work/main && source .venv/bin/activate
B=.gpu/s19/b; mkdir -p $B
for n in llama-3.1-8b-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 \
         llama-3.1-8b-fp8-rowwise qwen3-4b-tp1-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
ls -la $B/*.agb
