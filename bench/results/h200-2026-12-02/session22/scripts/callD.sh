#!/usr/bin/env bash
# session 22 call D: `aotgemm tune` and `aotgemm bench` now sample the GPU's clocks (aotgemm/gpu_clocks.py) and
# report them; first run on a GPU: the per-tensor fp8 Llama-3.1-8B bundle (session 20's build) tuned and benched.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,uuid --format=csv,noheader; date -u
python3 -c "import torch; print('torch uuid:', torch.cuda.get_device_properties(0).uuid)"
R=/tmp/d22; rm -rf $R; mkdir -p $R/tune $R/bench
timeout 60 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fp8.agb -o $R/tune/llama-3.1-8b-fp8.agb > $R/tune/llama-3.1-8b-fp8.tune.log 2>&1
echo "tune rc=$?"; grep -E "GPU clocks|wrote" $R/tune/llama-3.1-8b-fp8.tune.log
python3 -c "import json; print(json.load(open('$R/tune/llama-3.1-8b-fp8.tune.json'))['gpu_clocks'])"
timeout 60 python3 -m aotgemm.cli bench $R/tune/llama-3.1-8b-fp8.agb -o $R/bench/run1 > $R/bench/llama-3.1-8b-fp8.run1.log 2>&1
echo "bench rc=$?"; grep -E "^geomean|GPU clocks" -A1 $R/bench/llama-3.1-8b-fp8.run1.log | head -6
rm -f $R/tune/*.agb; tar czf $OUT/d.tgz -C $R .; date -u
