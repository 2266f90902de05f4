#!/usr/bin/env bash
# session 26 call C: call B again after its fixes. The patched forward now quantizes x with torchao's from_hp in
# the branch torchao's AUTO takes for the layers served (KernelPreference.TORCH named), so Dynamo does not meet
# from_hp's importlib test for mslk (call B: a graph break, then a failed guard on torchao's tensor in torch 2.11);
# the test's compiled step is fullgraph and compares with torchao's own layer compiled; its miss check uses an M
# it has inputs for.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/c26; rm -rf $R; mkdir -p $R/tests $R/torchao
pack() { tar czf $OUT/c.tgz -C $R .; }
T=.gpu/s25/t/llama-3.1-8b-fp8.agb
RW=.gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb
for b in $T $RW; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_FP8_BUNDLE=$b timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$?"; grep -E "passed|failed|Error|skipped" $R/tests/torchao_$n.log | tail -3; pack
done
for b in $T $RW; do
  n=$(basename $b .agb)
  timeout 220 python3 bench/torchao_fp8.py $b --compile -o $R/torchao/$n.compiled.json > $R/torchao/$n.compiled.txt 2>&1
  echo "torchao bench --compile $n rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/$n.compiled.txt | cut -c1-260; pack
done
pack; date -u
