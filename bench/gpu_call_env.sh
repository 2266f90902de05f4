# Sourced by the session call scripts (bench/results/*/scripts/call*.sh) on the GPU machine, from the repository
# root: the runtime's wheels carried in .gpu/whl (zstandard, apache-tvm-ffi, torchao; the machine has no package
# index) installed into /tmp/rt, the project run from its source tree, and the GPU named with the time.
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
