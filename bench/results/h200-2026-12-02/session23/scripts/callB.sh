#!/usr/bin/env bash
# session 23 call B: (1) where the small weights' time goes: ncu's PM sampling (a timeline of DRAM and SM
# activity inside one launch) on the CUDA-core, cp.async and TMA kernels of 5120x1280 and 1792x5120 and one
# CUDA-core kernel of 28672x4096 for the steady rate, each with cuBLAS after it (.gpu/s23/a, call A's build);
# (2) `aotgemm tune --margin 0.05` on a GPU (the fused Llama-3.1-8B bundle of session 20), then all of tests/gpu
# on HEAD's runtime with session 21's tuned bundles and that one (the last tests/gpu ran on cddcb86).
set -uo pipefail
export OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
ncu --version | tail -1
A=.gpu/s23/a; R=/tmp/b23; rm -rf $R; mkdir -p $R/tune $R/pm
P=simt_n5120k1280_m1_r4w5u1_pdl:1,cp4_n5120k1280_m8_mt1wn1wk2ck2u2_pdl:8,tma10_n5120k1280_m16_wg1bk128ck1_pdl:16
P=$P,simt_n1792k5120_m1_r4w4u1_pdl:1,cp4_n1792k5120_m8_mt1wn1wk1ck8u4_pdl:8,simt_n28672k4096_m1_r2w8u2_pdl:1
P=$(echo $P | sed 's/\([a-z0-9_]*:[0-9]*\)/aotgemm_\1/g')
timeout 150 ncu --clock-control none --section PmSampling --section SpeedOfLight --pm-sampling-interval 1000 \
  -o $R/pm/pm python3 bench/decode_probe.py profile $A $P --cublas > $R/pm/ncu.log 2>&1
echo "ncu rc=$?"; tail -3 $R/pm/ncu.log
timeout 60 ncu -i $R/pm/pm.ncu-rep --page raw --print-metric-instances values --csv > $R/pm/raw.csv 2>&1
echo "raw rc=$? $(wc -c < $R/pm/raw.csv) bytes"
timeout 60 ncu -i $R/pm/pm.ncu-rep --page details --print-details all > $R/pm/details.txt 2>&1
echo "details rc=$? $(wc -l < $R/pm/details.txt) lines"; date -u
tar czf $OUT/b.tgz -C $R .
timeout 110 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb --margin 0.05 -o $R/tune/llama-3.1-8b-fused.agb \
  > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused --margin 0.05 rc=$? $(date -u +%T)"; grep -iE "margin|GPU clocks|kept|chose" $R/tune/llama-3.1-8b-fused.tune.log | head -5
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s21/c/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=.gpu/s21/b/llama-3.1-8b.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12; date -u
rm -f $R/tune/*.agb; tar czf $OUT/b.tgz -C $R .; date -u
