#!/usr/bin/env bash
# CPU: the four fp8 bundles with the fp8 TMA table (session 8: quack fp8 kernels with the dequantizing epilogue), H200 only, untuned.
cd /work/main && source .venv/bin/activate
mkdir -p .gpu/s8/f8
for spec in manifests/llama-3.1-8b-fp8.toml manifests/qwen2.5-32b-tp4-fp8.toml manifests/llama-3.1-70b-tp8-fp8.toml \
            manifests/qwen3-4b-tp1-fp8.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/s8/f8/$n.agb > .gpu/s8/f8/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 .gpu/s8/f8/$n.build.log
done
