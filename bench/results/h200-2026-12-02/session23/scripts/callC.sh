#!/usr/bin/env bash
# session 23 call C: call B's PM sampling again at a finer interval (call B's default came out at 1.5 us, three
# or four samples over a small weight's GEMM): where the small weights' time goes (the ramp to the DRAM peak, the
# tail after it), for the CUDA-core kernels at M = 1 and the tensor-core ones at M = 8 and 16 on 5120x1280 and
# 1792x5120, and on 28672x4096 the register-ring kernel of call A at M = 8 beside the cp.async kernel builds
# offer (is the ring's deficit steady or in its tail?). Each with cuBLAS after it; .gpu/s23/a is call A's build.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
A=.gpu/s23/a; R=/tmp/c23; rm -rf $R; mkdir -p $R
P=simt_n5120k1280_m1_r4w5u1_pdl:1,cp4_n5120k1280_m8_mt1wn1wk2ck2u2_pdl:8,tma10_n5120k1280_m16_wg1bk128ck1_pdl:16
P=$P,simt_n1792k5120_m1_r4w4u1_pdl:1,cp4_n1792k5120_m8_mt1wn1wk1ck8u4_pdl:8
P=$P,rf4kx_n28672k4096_m8_mt1wn1wk8ck1u2_pdl:8,cp3_n28672k4096_m8_mt2wn1wk1ck1u4_pdl:8
P=$(echo $P | sed 's/\([a-z0-9_]*:[0-9]*\)/aotgemm_\1/g')
for iv in 100 250; do
  timeout 150 ncu --clock-control none --section PmSampling --pm-sampling-interval $iv \
    -o $R/pm$iv python3 bench/decode_probe.py profile $A $P --cublas > $R/ncu$iv.log 2>&1
  echo "ncu interval $iv rc=$?"; grep -E "ERR|rror" $R/ncu$iv.log | head -3
  if [ -f $R/pm$iv.ncu-rep ]; then
    timeout 60 ncu -i $R/pm$iv.ncu-rep --page raw --print-metric-instances values --csv > $R/raw$iv.csv 2>&1
    echo "raw rc=$? $(wc -c < $R/raw$iv.csv) bytes"; grep -o "Maximum Sampling Interval[^|]*" $R/ncu$iv.log | head -1
    timeout 60 ncu -i $R/pm$iv.ncu-rep --page details --section PmSampling > $R/details$iv.txt 2>&1
    grep -m2 -E "Sampling Interval|Duration" $R/details$iv.txt
    rm -f $R/pm$iv.ncu-rep
    break
  fi
done
date -u; tar czf $OUT/c.tgz -C $R .
