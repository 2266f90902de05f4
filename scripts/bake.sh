#!/bin/sh
# The container bake's steps (docs/bake.md): a thin wrapper over `python -m aotgemm.bake`,
# runnable from a source tree with a bare interpreter (aotgemm.bake needs only the standard library).
#
#   scripts/bake.sh builder --manifest M --gpus G [--tuned-bundle B] --out DIR [--venv V]
#   scripts/bake.sh runtime --bundle B --dest PATH [--package WHEEL|DIR] [--venv V]
#   scripts/bake.sh size --venv V
#
# $BAKE_PYTHON: the interpreter that runs the steps (default: python3). It creates --venv
# environments; the steps themselves install into and run in --venv / --python.
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "${BAKE_PYTHON:-python3}" -m aotgemm.bake "$@"
