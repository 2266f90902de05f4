#!/usr/bin/env bash
# session 33, CPU: the four per-output-channel fp8 bundles (session 20's manifests, scales = "row") built with the
# quack source as well (its sm_90a e4m3 designs serve scale_row too), untuned, for call G.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s33/r; mkdir -p $B
for t in bench/results/h200-2026-12-0*/session20/scripts/*-fp8-row.toml; do
  m=$(basename $t .toml)
  /usr/bin/time -f "$m wall %e s" aotgemm build $t --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
