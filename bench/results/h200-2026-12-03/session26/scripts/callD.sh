#!/usr/bin/env bash
# session 26 call D: bench/torchao_fp8.py --compile (call C stopped at its own check, which compared the compiled
# output with float32 on eagerly quantized x: now that check is eager, and the compiled output is held to 3e-2 of
# it, two quantizations' noise), per-tensor and row-wise Llama-3.1-8B fp8 bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/d26; rm -rf $R; mkdir -p $R/torchao
pack() { tar czf $OUT/d.tgz -C $R .; }
for b in .gpu/s25/t/llama-3.1-8b-fp8.agb .gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb; do
  n=$(basename $b .agb)
  timeout 280 python3 bench/torchao_fp8.py $b --compile -o $R/torchao/$n.compiled.json > $R/torchao/$n.compiled.txt 2>&1
  echo "torchao bench --compile $n rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/$n.compiled.txt | cut -c1-260; pack
done
pack; date -u
