#!/usr/bin/env bash
# session 37 call B: (1) call A's grid in e4m3 with per-tensor scales on the ten e4m3 weights of the shipped manifests
# that the e4m3 cp.async table (_MEASURED_FP8_SM90) has no designs for (`python bench/fp8_decode_probe.py compile
# .gpu/s37/cpf --cp-gaps`: 272 kernels), every kernel checked at every M up to its max_m, then timed against
# _scaled_mm at M = 3, 4, 5, 8, 9, 16; (2) call A's bf16 probe again, on another machine or later on the same one, to
# see which of its differences of 1-4% between designs hold. Carried: .gpu/w1, .gpu/s37/cpf's and .gpu/s37/cpb's
# kernels.so and designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/b37; rm -rf $R; mkdir -p $R/fp8 $R/bf16
timeout 300 python3 bench/fp8_decode_probe.py run .gpu/s37/cpf --log $R/fp8 --ms 3,4,5,8,9,16 --scales tensor \
  --all-buckets > $R/fp8/probe.log 2>&1
echo "fp8 probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/fp8/probe.log | head
cp .gpu/s37/cpf/designs.json $R/fp8/
tar czf $OUT/b.tgz -C $R .
timeout 200 python3 bench/decode_probe.py run .gpu/s37/cpb --log $R/bf16 --ms 3,4,5,8,9,16 --all-buckets \
  > $R/bf16/probe.log 2>&1
echo "bf16 probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/bf16/probe.log | head
tar czf $OUT/b.tgz -C $R .; date -u
