#!/usr/bin/env bash
# session 16 call E: tune the two Qwen bundles rebuilt with the rule's two-CTAs-per-SM cap (.gpu/s16/b2), then
# `aotgemm bench` twice over them and call D's tuned Llama-3.1-8B bundle; then the Llama-3.1-8B MLP with call D's
# tuned fused bundle (25 trials, after Inductor's PDL writer too)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/e; mkdir -p $R/tune $R/bench; B=.gpu/s16/b2
for n in qwen2.5-32b-tp4 qwen3-4b-tp1; do
  /usr/bin/time -f "tune wall %e s" timeout 120 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
done
cp .gpu/s16/tuned/llama-3.1-8b.agb $R/tune/
tar czf $OUT/e.tgz -C $R .
for run in run1 run2; do
  for n in llama-3.1-8b qwen2.5-32b-tp4 qwen3-4b-tp1; do
    timeout 80 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
  done
  tar czf $OUT/e.tgz -C $R .
done
rm -f $R/tune/llama-3.1-8b.agb
timeout 70 python3 bench/mlp_fused.py .gpu/s16/tuned/llama-3.1-8b-fused.agb --trials 25 --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 7 $R/mlp_fused.txt
tar czf $OUT/e.tgz -C $R .
date -u
