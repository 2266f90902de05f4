#!/usr/bin/env bash
# session 31, CPU: the four per-output-channel fp8 bundles (session 20's manifests, scales = "row", kept in
# session20/scripts) built at HEAD without tuning, for call C.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s31/b; mkdir -p $B
for t in bench/results/h200-2026-12-0*/session20/scripts/*-fp8-row.toml; do
  m=$(basename $t .toml)
  /usr/bin/time -f "$m wall %e s" aotgemm build $t --gpu H200_SXM --no-tune -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
