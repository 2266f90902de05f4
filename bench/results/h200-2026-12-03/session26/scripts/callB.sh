#!/usr/bin/env bash
# session 26 call B: test_torchao_gpu.py again (its torch.compile step no longer fullgraph: torchao's from_hp
# calls importlib's find_spec on sm_90+, which Dynamo does not trace), whether torchao's own layer compiles
# fullgraph, and bench/torchao_fp8.py --compile with the per-tensor (.gpu/s25/t) and row-wise (.gpu/s26/t,
# tuned in call A) Llama-3.1-8B fp8 bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/b26; rm -rf $R; mkdir -p $R/tests $R/torchao
pack() { tar czf $OUT/b.tgz -C $R .; }
T=.gpu/s25/t/llama-3.1-8b-fp8.agb
RW=.gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb
python3 - > $R/fullgraph.txt 2>&1 <<'PY'
import torch, warnings
warnings.simplefilter("ignore")
from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerTensor, quantize_
lin = torch.nn.Linear(4096, 4096, bias=False, device="cuda", dtype=torch.bfloat16)
quantize_(lin, Float8DynamicActivationFloat8WeightConfig(granularity=PerTensor()))
x = torch.randn(8, 4096, device="cuda", dtype=torch.bfloat16)
try:
    torch.compile(lin, fullgraph=True)(x); print("torchao's own layer: fullgraph compile ok")
except Exception as e:
    print("torchao's own layer: fullgraph compile fails:", type(e).__name__, str(e).splitlines()[0][:200])
PY
cat $R/fullgraph.txt | tail -1
for b in $T $RW; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_FP8_BUNDLE=$b timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_torchao_gpu.py > $R/tests/torchao_$n.log 2>&1
  echo "test_torchao $n rc=$?"; grep -E "passed|failed|Error|skipped" $R/tests/torchao_$n.log | tail -3; pack
done
for b in $T $RW; do
  n=$(basename $b .agb)
  timeout 230 python3 bench/torchao_fp8.py $b --compile -o $R/torchao/$n.compiled.json > $R/torchao/$n.compiled.txt 2>&1
  echo "torchao bench --compile $n rc=$? $(date -u +%T)"; tail -n 2 $R/torchao/$n.compiled.txt | cut -c1-260; pack
done
pack; date -u
