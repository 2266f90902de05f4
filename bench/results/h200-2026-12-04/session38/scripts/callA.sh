#!/usr/bin/env bash
# session 38 call A (bash callA.sh bf16, then bash callA.sh fp8: one probe a call, as the two libraries together pass
# the size a call carries): TMA + wgmma decode kernels of max_m 8, which builds do not offer and no probe had timed,
# on the 16 weights of the shipped manifests below their lm_heads, in bf16 and in e4m3 with per-tensor scales
# (`python bench/decode_probe.py compile .gpu/s38/t8b --tma8`, `fp8_decode_probe.py compile .gpu/s38/t8f --tma8`):
# beside them the kernels builds offer at max_m 8 and 16. Every kernel checked at every M up to its max_m, then timed
# against cuBLAS (_scaled_mm) at M = 3, 4, 5, 8 with every design whose max_m holds M. Carried: .gpu/w1 (the
# apache-tvm-ffi wheel), the probe dir's kernels.so and designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/a38; mkdir -p $R/$1
if [ "$1" = bf16 ]; then
  timeout 400 python3 bench/decode_probe.py run .gpu/s38/t8b --log $R/bf16 --ms 3,4,5,8 --all-buckets > $R/bf16/probe.log 2>&1
  echo "bf16 probe rc=$? $(date -u +%T)"; cp .gpu/s38/t8b/designs.json $R/bf16/
else
  timeout 400 python3 bench/fp8_decode_probe.py run .gpu/s38/t8f --log $R/fp8 --ms 3,4,5,8 --scales tensor --all-buckets \
    > $R/fp8/probe.log 2>&1
  echo "fp8 probe rc=$? $(date -u +%T)"; cp .gpu/s38/t8f/designs.json $R/fp8/
fi
grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/$1/probe.log | head
tar czf $OUT/a_$1.tgz -C $R $1; date -u
