#!/usr/bin/env bash
# Session 42 call G (carry .gpu/whl-tf .gpu/w2 .gpu/qkv, .gpu/qkv/fused.tuned.agb being call F's tuned bundle; tree
# with the fix, 126f3df): the profile at M = 128 and bench/epilogue_block.py --compiled --no-aoti twice.
bash bench/qkv_fusion_call.sh stage >/dev/null && WHEELS=.gpu/w2 source bench/gpu_call_env.sh \
  && export PYTHONPATH=$PYTHONPATH:/tmp/tf && R=$OUT/fix && mkdir -p $R
test -e .gpu/qkv/fused.tuned.agb || timeout 200 python3 -m aotgemm.cli tune .gpu/qkv/llama-3.1-8b-fused.agb \
  -o .gpu/qkv/fused.tuned.agb > $R/tune.log 2>&1
timeout 140 python3 bench/compiled_block_profile.py .gpu/qkv/fused.tuned.agb --m 128 > $R/profile.txt 2>&1
echo "profile rc=$?"; grep -E "^== |hits" $R/profile.txt
for run in run1 run2; do
  timeout 150 python3 bench/epilogue_block.py .gpu/qkv/fused.tuned.agb --compiled --no-aoti --m 1 16 128 2048 \
    --out $R/epilogue_block.$run.json > $R/epilogue_block.$run.txt 2> $R/epilogue_block.$run.log
  echo "epilogue_block $run rc=$?"; tail -n 7 $R/epilogue_block.$run.txt
done
