#!/usr/bin/env bash
# session 18 call C: tune the six bundles built with the evict-first weight loads (.gpu/s18/b: three bf16, the
# fused Llama one, two per-tensor fp8 ones), then the first `aotgemm bench` of Llama-3.1-8B and Qwen3-4B
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/c; mkdir -p $R/tune $R/bench; B=.gpu/s18/b
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b-fused llama-3.1-8b-fp8 qwen3-4b-tp1-fp8; do
  /usr/bin/time -f "tune wall %e s" timeout 110 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $OUT/c.tgz -C $R .
done
for n in llama-3.1-8b qwen3-4b-tp1; do
  timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench run1 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log | tr '\n' ' ' | cut -c1-330; echo
  tar czf $OUT/c.tgz -C $R .
done
date -u
