#!/usr/bin/env bash
# On the GPU host, with only the runtime side installed (torch, tvm_ffi, zstandard; no DSL):
#   bash bench/h200_validate.sh BUNDLE_DIR OUT [facts] [inplace] [tune] [bench] [mlp] [block] [latency] [tests]
# For each BUNDLE_DIR/*.agb (built GPU-less with `aotgemm build --gpu H200_SXM --no-tune`):
# `aotgemm tune` it, then `aotgemm bench` the tuned bundle twice. Then the GPU tests with the tuned
# Llama-3.1-8B bundle. `inplace`: also a tuned `aotgemm build` of Llama-3.1-8B here, with the compiler
# side from $BUILD_ENV (the exports .devwheels/b/install.sh prints), benched once beside the split flow.
# Everything lands in OUT/results.tgz (plus a short summary on stdout).
set -uo pipefail
bundles=${1:?bundle dir}; out=${2:?out dir}; shift 2
steps=${*:-facts tune bench tests}
res=/tmp/agv; mkdir -p "$res/tuned" "$res/bench"
export PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
has() { [[ " $steps " == *" $1 "* ]]; }
if has facts; then
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$res/facts.txt" 2>&1
  nvcc -arch=sm_90a -o /tmp/gpu_facts bench/gpu_facts.cu >> "$res/facts.txt" 2>&1 && /tmp/gpu_facts >> "$res/facts.txt" 2>&1
  python3 bench/gpu_facts.py >> "$res/facts.txt" 2>&1
  cat "$res/facts.txt"
fi
if has inplace; then
  mkdir -p "$res/inplace"
  ( eval "$BUILD_ENV"; export PYTHONPATH="$PYTHONPATH:$PWD"
    /usr/bin/time -f "inplace build wall %e s" python3 -m aotgemm.cli build manifests/llama-3.1-8b.toml \
      --gpu H200_SXM --cache-dir /tmp/agc-build -o "$res/inplace/llama-3.1-8b.agb" ) > "$res/inplace/build.log" 2>&1
  echo "inplace build rc=$?"; grep -E "wall|time:|kernels" "$res/inplace/build.log"
  python3 -m aotgemm.cli bench "$res/inplace/llama-3.1-8b.agb" -o "$res/inplace/bench" > "$res/inplace/bench.log" 2>&1
  echo "inplace bench rc=$?"; grep -E "^geomean" "$res/inplace/bench.log"
fi
tuned() { for d in "$res/tuned" "$bundles"; do [ -e "$d/$1.agb" ] && { echo "$d/$1.agb"; return; }; done; }
for b in "$bundles"/*.agb; do
  name=$(basename "$b" .agb)
  if has tune; then
    /usr/bin/time -f "tune wall %e s" python3 -m aotgemm.cli tune "$b" -o "$res/tuned/$name.agb" \
      > "$res/tuned/$name.tune.log" 2>&1; echo "tune $name rc=$?"; grep -E "^wrote|wall" "$res/tuned/$name.tune.log"
  fi
  if has bench && [[ $name == ${BENCH_ONLY:-*} ]]; then  # BENCH_ONLY: a glob of the bundle names to bench
    for run in ${BENCH_RUNS:-1 2}; do  # BENCH_RUNS: which of the two runs (a run split over two device calls)
      python3 -m aotgemm.cli bench "$(tuned "$name")" -o "$res/bench/run$run" > "$res/bench/$name.run$run.log" 2>&1
      echo "bench $name run$run rc=$?"; grep -E "^geomean" "$res/bench/$name.run$run.log"
    done
  fi
done
# mlp / block: the fused Llama-3.1-8B MLP and decoder layer (issue 13); latency: the Llama block under
# eager, eager-patched, AOTInductor and AOTInductor + bundle (issue 12). Each uses the tuned bundle when this
# run tuned one, else the one in BUNDLE_DIR (already tuned, e.g. carried back from an earlier run).
if has mlp; then
  python3 bench/mlp_fused.py "$(tuned llama-3.1-8b-fused)" -o "$res/mlp_fused.json" > "$res/mlp_fused.txt" 2>&1
  echo "mlp rc=$?"; tail -8 "$res/mlp_fused.txt"
fi
if has block; then
  timeout 400 python3 bench/epilogue_block.py "$(tuned llama-3.1-8b-fused)" --out "$res/epilogue_block.json" \
    > "$res/epilogue_block.txt" 2>&1; echo "block rc=$?"; tail -12 "$res/epilogue_block.txt"
fi
if has latency; then
  timeout 400 python3 bench/aoti_latency.py --bundle "$(tuned llama-3.1-8b)" --out "$res/aoti_latency.json" \
    > "$res/aoti_latency.txt" 2>&1; echo "latency rc=$?"; tail -30 "$res/aoti_latency.txt"
fi
tar czf "$out/results.tgz" -C "$res" .  # what the tests below can't lose
if has tests; then
  AOTGEMM_TEST_FUSED_BUNDLE=$(tuned llama-3.1-8b-fused) AOTGEMM_TEST_BUNDLE=$(tuned llama-3.1-8b) timeout 300 python3 -m pytest -q -p no:cacheprovider -rs \
    tests/gpu > "$res/tests_gpu.log" 2>&1; echo "tests/gpu rc=$?"; tail -15 "$res/tests_gpu.log"
fi
tar czf "$out/results.tgz" -C "$res" .
