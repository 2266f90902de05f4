#!/usr/bin/env bash
# session 33 call I: the two fp8 probes' run step after they came to share their library, timing and command-line
# code (quack_fp8_probe's link_probe, open_probe, scaled_mm_call, compile_or_run): bench/fp8_promote_probe.py on
# call C's kernels (rebuilt byte-identical after the change) and bench/quack_fp8_probe.py on the source's sm_90a fp8
# designs as they are now (python bench/quack_fp8_probe.py compile .gpu/s33/qprobe). Carried: .gpu/whl,
# .gpu/s33/promote, .gpu/s33/qprobe.
set -uo pipefail
source bench/gpu_call_env.sh
timeout 200 python3 bench/fp8_promote_probe.py run .gpu/s33/promote --log $OUT/promote 2>&1 | grep -v "^{" | tail -30
timeout 200 python3 bench/quack_fp8_probe.py run .gpu/s33/qprobe --log $OUT/qprobe 2>&1 | grep -v "^{" | tail -16
