#!/usr/bin/env bash
# CPU (session 13): every bundle of the results table at the working tree (decode shortlist), H200 only, untuned.
cd /work/main && source .venv/bin/activate
B=.gpu/s13/b; M=bench/results/h200-2026-11-30/session4/manifests
for spec in manifests/qwen3-4b-tp1.toml $M/llama-3.1-8b-q.toml manifests/qwen2.5-32b-tp4.toml manifests/llama-3.1-70b-tp8.toml \
            $M/llama-3.1-8b-fused-q.toml manifests/llama-3.1-8b-fp8.toml manifests/qwen2.5-32b-tp4-fp8.toml \
            manifests/llama-3.1-70b-tp8-fp8.toml manifests/qwen3-4b-tp1-fp8.toml \
            .gpu/s13/man/llama-3.1-8b-fp8-row.toml .gpu/s13/man/qwen2.5-32b-tp4-fp8-row.toml \
            .gpu/s13/man/llama-3.1-70b-tp8-fp8-row.toml .gpu/s13/man/qwen3-4b-tp1-fp8-row.toml \
            manifests/llama-3.1-8b-fp8-rowwise.toml manifests/qwen2.5-32b-tp4-fp8-rowwise.toml \
            manifests/llama-3.1-70b-tp8-fp8-rowwise.toml manifests/qwen3-4b-tp1-fp8-rowwise.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
