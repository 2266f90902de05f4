#!/usr/bin/env bash
# On the CPU machine, from the repository root: the wheels the session call scripts carry to the GPU machine, which
# has Python 3.12, torch 2.11 (with numpy, filelock, fsspec, typing_extensions) and no package index. Both folders
# are git-ignored and machine-local, so a fresh checkout makes them again with this:
#   .gpu/w2      apache-tvm-ffi and zstandard, the runtime's two dependencies the machine lacks (about 8.5 MiB),
#                trimmed as session 20 found they must be (bench/results/h200-2026-12-02/session20/scripts/trim_wheels.sh:
#                zstandard without its cffi backend, tvm-ffi without its bundled sources; its testing library stays,
#                tvm_ffi's core extension links it); `WHEELS=.gpu/w2 source bench/gpu_call_env.sh` installs them.
#   .gpu/whl-tf  transformers 5.25 (its models/ cut to the architectures the calls build) and what it imports to
#                build a model (about 9 MB: with the tracked tree, about 44 MB, it fits a call's 64 MB, so it rides in a
#                call of its own:
#                bench/qkv_fusion_call.sh stage). Found by importing transformers and building a Llama with only
#                torch's own dependencies beside it, adding the wheel of each module it then missed.
set -euo pipefail
PLATFORM=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
mkdir -p .gpu
W=.gpu/w2
rm -rf $W && mkdir -p $W
python3 -m pip download -q --no-deps "${PLATFORM[@]}" -d $W apache-tvm-ffi==0.1.15.post2 zstandard==0.25.0
trim() {  # trim WHEEL PATTERN...: delete the files matching the patterns and their RECORD lines
  local whl=$1; shift; local t; t=$(mktemp -d)
  (cd "$t" && unzip -q "$OLDPWD/$whl" && for p in "$@"; do rm -rf $p; sed -i "\#${p%%\**}#d" ./*.dist-info/RECORD; done \
   && rm "$OLDPWD/$whl" && zip -q -r -9 "$OLDPWD/$whl" .)
  rm -rf "$t"
}
trim $W/zstandard-*.whl zstandard/_cffi.cpython-312-x86_64-linux-gnu.so zstandard/backend_cffi.py
trim $W/apache_tvm_ffi-*.whl tvm_ffi/3rdparty tvm_ffi/src
T=.gpu/whl-tf
rm -rf $T && mkdir -p $T
python3 -m pip download -q --no-deps "${PLATFORM[@]}" --platform any -d $T transformers==5.25.0 \
  huggingface-hub==2.4.0 tokenizers==0.23.3 safetensors==0.8.0 regex==2026.12.2 pyyaml==6.0.4 packaging==26.4 \
  tqdm==4.70.1 httpx2==2.17.0 httpcore2==2.17.0 h11==0.16.0 idna==3.20 truststore==0.10.5
# transformers' models/ is 52 of its 61 MB: keep the architectures the calls build (the example's Llama and Gemma 2,
# the tests' and benches' Llama, Qwen, Mistral, Phi-3, Gemma 1-3) and auto/, so the tree and this fit one call
python3 - "$T"/transformers-*.whl <<'PY'
import re, sys, zipfile
KEEP = {"auto", "llama", "qwen2", "qwen3", "mistral", "phi3", "gemma", "gemma2", "gemma3"}
path = sys.argv[1]
src = zipfile.ZipFile(path)
dropped = lambda name: (m := re.match(r"transformers/models/([^/]+)/", name)) is not None and m.group(1) not in KEEP
entries = [(i, src.read(i)) for i in src.infolist() if not dropped(i.filename)]
src.close()
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
    for info, data in entries:
        if info.filename.endswith(".dist-info/RECORD"):
            data = b"".join(l for l in data.splitlines(True) if not dropped(l.decode().split(",")[0]))
        out.writestr(info, data)
PY
du -sh $W $T
