#!/usr/bin/env bash
# session 17 call B: tune the four bundles built with the CUDA-core max_m 2 designs (.gpu/s17/b), then the
# first `aotgemm bench` of the three bf16 ones
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/b; mkdir -p $R/tune $R/bench; B=.gpu/s17/b
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4 llama-3.1-8b-fused; do
  /usr/bin/time -f "tune wall %e s" timeout 130 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $OUT/b.tgz -C $R .
done
for n in llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4; do
  timeout 80 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench run1 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log | tr '\n' ' ' | cut -c1-330; echo
  tar czf $OUT/b.tgz -C $R .
done
date -u
