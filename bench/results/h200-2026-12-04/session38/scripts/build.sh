#!/usr/bin/env bash
# session 38, CPU: the per-tensor fp8 bundles of the four shipped manifests (into .gpu/s38/t), then the four
# per-output-channel ones (session 20's manifests, scales = "row", into .gpu/s38/r), built with the e4m3 max_m 8 TMA
# designs, untuned, with the three sources, for calls C-E. Run again (with OUT=.gpu/s38/h, call H) after call G's
# max_m 16 and 32 entries.
set -euo pipefail
source .venv/bin/activate
O=${OUT:-.gpu/s38}
for spec in "t:manifests/*-fp8.toml" "r:bench/results/h200-2026-12-02/session20/scripts/*-fp8-row.toml"; do
  B=$O/${spec%%:*}; mkdir -p $B
  for t in ${spec#*:}; do
    m=$(basename $t .toml)
    /usr/bin/time -f "$m wall %e s" aotgemm build $t --gpu H200_SXM --no-tune --sources aotgemm \
      --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
    tail -n 1 $B/$m.build.log
  done
done
# then (for call E) the four per-token ones (torchao's PerRow recipe, manifests/*-fp8-rowwise.toml) into $O/w
B=$O/w; mkdir -p $B
for t in manifests/*-fp8-rowwise.toml; do
  m=$(basename $t .toml)
  /usr/bin/time -f "$m wall %e s" aotgemm build $t --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
