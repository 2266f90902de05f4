#!/usr/bin/env bash
# CPU (session 16, for call G): the final output stage (4 columns per load only where a CTA owns >= 64)
cd /work/main && source .venv/bin/activate
PROBE_JOBS=2 python bench/decode_probe.py compile .gpu/s16/final --out-stage > .gpu/s16/final_compile.log 2>&1; tail -1 .gpu/s16/final_compile.log
PROBE_JOBS=2 python bench/fp8_decode_probe.py compile .gpu/s16/g/fp8 --shapes 4096:4096,2560:4096,6144:2560 > .gpu/s16/fp8final_compile.log 2>&1; tail -1 .gpu/s16/fp8final_compile.log
for n in llama-3.1-8b llama-3.1-8b-fused; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/s16/g/$n.agb > .gpu/s16/g/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 .gpu/s16/g/$n.build.log
done
