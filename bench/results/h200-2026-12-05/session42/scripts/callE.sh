#!/usr/bin/env bash
# Session 42 call E (carry .gpu/w2 .gpu/s39/t64): the e4m3 max_m 64 TMA designs re-timed, every one ranked in a model.
WHEELS=.gpu/w2 source bench/gpu_call_env.sh && mkdir -p $OUT/t64 && timeout 300 python3 bench/fp8_decode_probe.py run \
  .gpu/s39/t64 --ms 33,64 --scales tensor --all-buckets --model-top 99 --log $OUT/t64 > $OUT/t64/run.txt 2>&1
echo rc=$?; tail -n 40 $OUT/t64/run.txt
