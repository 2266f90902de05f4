#!/usr/bin/env bash
# session 16 call F: the fixed cost of a decode TMA kernel (fixed_cost.py)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
cd .gpu/s16 && timeout 150 python3 fixed_cost.py run fc 2>&1 | tee $OUT/fixed_cost.txt
