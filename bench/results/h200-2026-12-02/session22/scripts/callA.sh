#!/usr/bin/env bash
# session 22 call A: the CUDA-core (simt) kernels now request their first chunk of weights before
# griddepcontrol.wait. SASS of two such kernels (the order of the weight loads and the wait), then the untuned
# Llama-3.1-8B bf16, per-tensor fp8 and fused bundles built with them (.gpu/s22/b) tuned, and all of tests/gpu
# with those three and designs_for's e4m3 kernels on three weights (.gpu/s22/fp8). Before that, early_pdl_ab.py:
# the 32 simt designs of eight weights with and without the early loads (.gpu/s22/ab/{old,new}) and cuBLAS, back
# to back, after a copy kernel, and after Inductor's PDL copy.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/a22; rm -rf $R; mkdir -p $R/tune $R/sass
for c in .gpu/s22/sass/*.cubin; do
  n=$(basename $c .cubin); cuobjdump -sass $c > $R/sass/$n.sass 2>&1 || nvdisasm $c > $R/sass/$n.sass 2>&1
  echo "$n: $(grep -nE 'LDG|ACQBULK|griddep|DEPBAR|PREEXIT|CCTL' $R/sass/$n.sass | head -14 | tr -s ' ' | tr '\n' ';')"
done
OUT=$R timeout 150 python3 bench/results/h200-2026-12-02/session22/scripts/early_pdl_ab.py run .gpu/s22/ab/old \
  .gpu/s22/ab/new > $R/early_pdl_ab.txt 2>&1
echo "early_pdl_ab rc=$?"; tail -6 $R/early_pdl_ab.txt; tar czf $OUT/a.tgz -C $R .
for n in llama-3.1-8b llama-3.1-8b-fp8 llama-3.1-8b-fused; do
  /usr/bin/time -f "tune wall %e s" timeout 120 python3 -m aotgemm.cli tune .gpu/s22/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) $(date -u +%T)"
done
tar czf $OUT/a.tgz -C $R .
AOTGEMM_FP8_DECODE_DIR=.gpu/s22/fp8 AOTGEMM_TEST_FP8_BUNDLE=$R/tune/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$R/tune/llama-3.1-8b.agb \
  timeout 330 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12; date -u
cp $R/tune/*.agb $OUT/ 2>/dev/null; tar czf $OUT/a.tgz -C $R .; date -u
