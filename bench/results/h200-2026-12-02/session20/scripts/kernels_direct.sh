#!/usr/bin/env bash
# session 20 (as session 19): every kernel of each tuned bundle named, called directly at every M it serves and at each bucket's
# lower edge (tests/gpu/test_runtime_gpu.py::test_every_kernel_directly), output poisoned, float32 reference on the
# dequantized operands.  Usage: TAG=a bash kernels_direct.sh BUNDLE...
set -uo pipefail
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
mkdir -p /tmp/$TAG/kernels
for b in "$@"; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_BUNDLE=$b timeout 120 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_runtime_gpu.py -k test_every_kernel_directly > /tmp/$TAG/kernels/$n.log 2>&1
  echo "kernels $n rc=$? $(grep -E 'kernel runs|passed|failed' /tmp/$TAG/kernels/$n.log | tail -2 | tr '\n' ' ')"
  tar czf $OUT/$TAG.tgz -C /tmp/$TAG .
done
