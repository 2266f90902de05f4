#!/usr/bin/env bash
# session 16 call H: Llama-3.1-8B built from the final code (output stage, residency rule) and tuned with the
# split start held to the back-to-back rule too; `aotgemm bench` twice
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/h; mkdir -p $R/tune $R/bench; n=llama-3.1-8b
/usr/bin/time -f "tune wall %e s" timeout 100 python3 -m aotgemm.cli tune .gpu/s16/h/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
echo "tune rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
tar czf $OUT/h.tgz -C $R .
for run in run1 run2; do
  timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
  echo "bench $run rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
  tar czf $OUT/h.tgz -C $R --exclude='*.agb' .
done
date -u
