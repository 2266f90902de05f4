#!/usr/bin/env bash
# CPU: rebuild the bundles whose shapes the TMA rule (not the measured table) serves, after the rule's
# second design became a wider split-K for grids that leave SMs idle.
cd /work/main && source .venv/bin/activate
mkdir -p .gpu/s6/b2
for spec in manifests/llama-3.1-8b-fp8.toml manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-70b-tp8.toml \
            manifests/qwen3-4b-tp1.toml .gpu/s4/man/llama-3.1-8b-q.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/s6/b2/$n.agb > .gpu/s6/b2/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 .gpu/s6/b2/$n.build.log
done
