#!/usr/bin/env bash
# CPU (session 11): the bundles for this session's device calls, H200 only, untuned, at HEAD.
cd /work/main && source .venv/bin/activate
B=.gpu/s11/b
for m in llama-3.1-8b qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1; do
  sed 's/^scales = "tensor"/scales = "row"/; s/^name = "\(.*\)-fp8"/name = "\1-fp8-row"/' \
     manifests/$m-fp8.toml > .gpu/s11/man/$m-fp8-row.toml
done
for spec in bench/results/h200-2026-11-30/session4/manifests/llama-3.1-8b-q.toml manifests/llama-3.1-8b-fp8.toml \
            .gpu/s11/man/llama-3.1-8b-fp8-row.toml .gpu/s11/man/qwen2.5-32b-tp4-fp8-row.toml \
            .gpu/s11/man/llama-3.1-70b-tp8-fp8-row.toml .gpu/s11/man/qwen3-4b-tp1-fp8-row.toml; do
  n=$(basename $spec .toml)
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build $spec --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
