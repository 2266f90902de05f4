#!/usr/bin/env bash
# session 39, CPU: bundles of the shipped manifests for the GPU calls, untuned, with the three sources, into
# $OUT/<set> (OUT defaults to .gpu/s39). `build.sh t`: the four per-tensor fp8 ones (call A); `build.sh b`: the four
# bf16 ones (call B); `build.sh w` and `build.sh r`: the four per-token (torchao's PerRow recipe) and the four
# per-output-channel ones (session 20's manifests) (call C).
set -euo pipefail
source .venv/bin/activate
O=${OUT:-.gpu/s39}
case ${1:-t} in
  t) glob="manifests/*-fp8.toml" ;;
  w) glob="manifests/*-fp8-rowwise.toml" ;;
  r) glob="bench/results/h200-2026-12-02/session20/scripts/*-fp8-row.toml" ;;
  b) glob="manifests/llama-3.1-8b.toml manifests/llama-3.1-70b-tp8.toml manifests/qwen2.5-32b-tp4.toml manifests/qwen3-4b-tp1.toml" ;;
esac
B=$O/${1:-t}; mkdir -p $B
for t in $glob; do
  m=$(basename $t .toml)
  /usr/bin/time -f "$m wall %e s" aotgemm build $t --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
