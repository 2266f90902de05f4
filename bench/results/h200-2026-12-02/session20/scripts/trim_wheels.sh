#!/usr/bin/env bash
# CPU (session 20): the runtime's two wheels missing on the GPU host (Python 3.12), trimmed so that they, the tracked
# tree (54 MiB) and a call's bundles fit in the 64 MiB a device call carries: zstandard without its cffi backend
# (it imports the C one first) and apache-tvm-ffi without its bundled sources. (Its testing library must stay:
# tvm_ffi's core extension links it. The first trim removed it too; call E's fresh machine then failed to import
# tvm_ffi. Calls B-D ran, so their machines' /tmp/rt must have held an untrimmed install from an earlier call,
# which pip without --upgrade keeps.)
set -euo pipefail
cd /work/main && W=.gpu/whl && rm -rf $W && mkdir -p $W
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d $W apache-tvm-ffi==0.1.15.post2 zstandard==0.25.0
trim() {  # trim WHEEL PATTERN...: delete the files matching the patterns and their RECORD lines
  local whl=$1; shift; local t; t=$(mktemp -d)
  (cd "$t" && unzip -q "$OLDPWD/$whl" && for p in "$@"; do rm -rf $p; sed -i "\#${p%%\**}#d" ./*.dist-info/RECORD; done \
   && rm "$OLDPWD/$whl" && zip -q -r -9 "$OLDPWD/$whl" .)
  rm -rf "$t"
}
trim $W/zstandard-*.whl zstandard/_cffi.cpython-312-x86_64-linux-gnu.so zstandard/backend_cffi.py
trim $W/apache_tvm_ffi-*.whl tvm_ffi/3rdparty tvm_ffi/src
ls -la $W
