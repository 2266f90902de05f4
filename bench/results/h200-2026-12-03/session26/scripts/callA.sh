#!/usr/bin/env bash
# session 26 call A: torchao's float8 linears served by patch() (tests/gpu/test_torchao_gpu.py, bench/torchao_fp8.py)
# with session 25's tuned per-tensor Llama-3.1-8B bundle (.gpu/s25/t) and the row-wise one, built here
# (scripts/build.sh, .gpu/s26/new) and tuned in this call; the row-wise bundle benched twice (`aotgemm bench`) and
# every one of its kernels run directly at every M it serves (tests/gpu/test_runtime_gpu.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
python3 -c "import torch, torchao; print('torch', torch.__version__, 'torchao', torchao.__version__)" 2>&1 | tail -1
R=/tmp/a26; rm -rf $R; mkdir -p $R/tune $R/bench $R/tests $R/torchao
pack() { tar czf $OUT/a.tgz -C $R .; }
T=.gpu/s25/t/llama-3.1-8b-fp8.agb
RW=$R/tune/llama-3.1-8b-fp8-rowwise.agb
timeout 100 python3 -m aotgemm.cli tune .gpu/s26/new/llama-3.1-8b-fp8-rowwise.agb -o $RW > $R/tune/rowwise.tune.log 2>&1
echo "tune rowwise rc=$? $(date -u +%T)"; tail -n 1 $R/tune/rowwise.tune.log | cut -c1-200; pack
for b in $T $RW; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_FP8_BUNDLE=$b timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$?"; grep -E "passed|failed|Error|skipped" $R/tests/torchao_$n.log | tail -3; pack
done
for b in $T $RW; do
  n=$(basename $b .agb)
  timeout 150 python3 bench/torchao_fp8.py $b -o $R/torchao/$n.json > $R/torchao/$n.txt 2>&1
  echo "torchao bench $n rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/$n.txt | cut -c1-260; pack
done
for run in run1 run2; do
  timeout 100 python3 -m aotgemm.cli bench $RW -o $R/bench/$run/rowwise > $R/bench/rowwise.$run.log 2>&1
  echo "bench rowwise $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/rowwise.$run.log | tr '\n' ' ' | cut -c1-240; echo
  pack
done
AOTGEMM_TEST_BUNDLE=$RW timeout 100 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu/test_runtime_gpu.py \
  > $R/tests/runtime_rowwise.log 2>&1
echo "runtime rowwise rc=$?"; grep -E "kernel runs|passed|failed|Error" $R/tests/runtime_rowwise.log | tail -3
pack; date -u
