#!/usr/bin/env bash
# session 31 call E: after a20c224 (decode_tma's source changed, its cubins not; new cache keys), kernels compiled at
# HEAD run on the H200: scripts/epilogues.toml's bundle through tests/gpu/check_epilogues.py (bias, swiglu), the 30
# e4m3 kernels designs_for offers for 8192 x 1024 (test_fp8_decode_gpu), and the Llama-3.1-8B per-tensor fp8 bundle
# tuned, then test_runtime_gpu and test_torchao_gpu with it. Carried: .gpu/whl, .gpu/s31/h.
set -uo pipefail
source bench/gpu_call_env.sh
R=$OUT/e; mkdir -p $R
timeout 100 python3 tests/gpu/check_epilogues.py .gpu/s31/h/epilogues.agb > $R/check_epilogues.log 2>&1
echo "check_epilogues rc=$? $(date -u +%T)"; tail -n 1 $R/check_epilogues.log
AOTGEMM_FP8_DECODE_DIR=.gpu/s31/h/f8 timeout 100 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_decode_gpu.py > $R/fp8_decode.log 2>&1
echo "fp8_decode rc=$? $(date -u +%T)"; tail -n 1 $R/fp8_decode.log
n=llama-3.1-8b-fp8
timeout 60 python3 -m aotgemm.cli tune .gpu/s31/h/$n.agb -o /tmp/$n.agb > $R/$n.tune.log 2>&1
echo "tune rc=$? $(date -u +%T) $(tail -n 1 $R/$n.tune.log | cut -c1-160)"
AOTGEMM_TEST_BUNDLE=/tmp/$n.agb AOTGEMM_TEST_FP8_BUNDLE=/tmp/$n.agb timeout 200 python3 -m pytest -q -s \
  -p no:cacheprovider -rs tests/gpu/test_runtime_gpu.py tests/gpu/test_torchao_gpu.py > $R/fp8_tensor.log 2>&1
echo "fp8_tensor rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed" $R/fp8_tensor.log | tail -4
