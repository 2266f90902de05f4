#!/usr/bin/env bash
# CPU: the session-6 bundles (decode designs now include the TMA + wgmma kernels), H200 only, untuned.
cd /work/main && source .venv/bin/activate
for spec in .gpu/s4/man/llama-3.1-8b-q.toml .gpu/s4/man/llama-3.1-8b-fused-q.toml manifests/llama-3.1-8b-fp8.toml \
            manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-70b-tp8.toml manifests/qwen3-4b-tp1.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/s6/b/$n.agb > .gpu/s6/b/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 .gpu/s6/b/$n.build.log
done
