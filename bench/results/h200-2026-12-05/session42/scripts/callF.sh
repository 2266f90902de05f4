#!/usr/bin/env bash
# Session 42 call F (carry .gpu/whl-tf .gpu/w2 .gpu/qkv; tree at 8285004 plus bench/compiled_block_profile.py, before
# the fix): why call A's compiled patched layer ran 0.30x at M = 128. The bundle tuned again (call A's /tmp was gone).
bash bench/qkv_fusion_call.sh stage >/dev/null && WHEELS=.gpu/w2 source bench/gpu_call_env.sh \
  && export PYTHONPATH=$PYTHONPATH:/tmp/tf \
  && timeout 200 python3 -m aotgemm.cli tune .gpu/qkv/llama-3.1-8b-fused.agb -o $OUT/fused.tuned.agb > $OUT/tune.log 2>&1
echo tune rc=$?; tail -n 1 $OUT/tune.log
timeout 280 python3 bench/compiled_block_profile.py $OUT/fused.tuned.agb --m 128 16 > $OUT/profile.txt 2>&1; echo rc=$?
