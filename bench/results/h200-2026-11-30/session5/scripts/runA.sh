#!/usr/bin/env bash
# GPU call A (session 5): tune the two finer-bucket Llama bundles (decode kernels now take any x row
# stride), bench run 1, tests/gpu (incl. the new fp8 AOTInductor test). Everything in one tarball.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s5a; mkdir -p $R/tune $R/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
for n in llama-3.1-8b-q llama-3.1-8b-fused-q; do
  /usr/bin/time -f "tune wall %e s" timeout 150 python3 -m aotgemm.cli tune .gpu/s5/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served" $R/tune/$n.tune.log
done
tar czf $OUT/s5a.tgz -C $R .
for n in llama-3.1-8b-q llama-3.1-8b-fused-q; do
  timeout 80 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log
done
tar czf $OUT/s5a.tgz -C $R .
AOTGEMM_TEST_FP8_BUNDLE=.gpu/s5/b/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$R/tune/llama-3.1-8b-q.agb timeout 250 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "M=[0-9]+: rel err|kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -20
tar czf $OUT/s5a.tgz -C $R .
date -u
