#!/usr/bin/env bash
# session 37 call A: cp.async (swapab_cp) kernels on the ten bf16 weights of the shipped manifests that the cp.async
# table (_MEASURED_SM90) has no designs for, which builds give _score's picks: the best-scored design of each CTA
# geometry, 14 at max_m 8 and 6 at max_m 16, and the whole-row-copy form of the first six, beside designs_for's kernels
# of max_m 8 and 16 (`python bench/decode_probe.py compile .gpu/s37/cpb --cp-gaps`: 314 kernels). Every kernel checked
# at every M up to its max_m, then timed against cuBLAS at M = 3, 4, 5, 8, 9, 16 (each bucket's lower edge and top)
# with every design whose max_m holds M. Carried: .gpu/w1, .gpu/s37/cpb's kernels.so and designs.json.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/a37; rm -rf $R; mkdir -p $R
timeout 560 python3 bench/decode_probe.py run .gpu/s37/cpb --log $R --ms 3,4,5,8,9,16 --all-buckets > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head
cp .gpu/s37/cpb/designs.json $R/
tail -n 12 $R/decode_probe.txt | cut -c1-200
tar czf $OUT/a.tgz -C $R .; date -u
