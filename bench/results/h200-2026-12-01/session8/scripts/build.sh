#!/usr/bin/env bash
# CPU (session 8): the four bf16 bundles and the fused Llama bundle at HEAD, H200 only, untuned, for re-tuning under the
# session-7 tuner rules.
cd /work/main && source .venv/bin/activate
for spec in .gpu/s4/man/llama-3.1-8b-q.toml manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-70b-tp8.toml \
            manifests/qwen3-4b-tp1.toml .gpu/s4/man/llama-3.1-8b-fused-q.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/s8/b/$n.agb > .gpu/s8/b/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 .gpu/s8/b/$n.build.log
done
