# Sourced by the session call scripts (bench/results/*/scripts/call*.sh) on the GPU machine, from the repository
# root: the runtime's wheels carried in .gpu/whl (zstandard, apache-tvm-ffi, torchao; the machine has no package
# index), or in the folder $WHEELS names (a call that needs no torchao carries less), installed into /tmp/rt, the
# project run from its source tree, and the GPU named with the time.
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt "${WHEELS:-.gpu/whl}"/*.whl \
  >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc CXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u

# tune_bench NAME IN OUT TUNE_S BENCH_S: `aotgemm tune` IN/NAME.agb into OUT/tune/NAME.agb, then `aotgemm bench` of it
# twice (OUT/bench/run1, run2), each under its timeout in seconds, with one line per step (and each bench's geomean
# lines) on stdout and the call script's `pack` after each step: the loop every session's call scripts ran.
tune_bench() {
  local n=$1 in=$2 out=$3 run
  mkdir -p "$out/tune" "$out/bench"
  timeout "$4" python3 -m aotgemm.cli tune "$in/$n.agb" -o "$out/tune/$n.agb" > "$out/tune/$n.tune.log" 2>&1
  echo "tune $n rc=$? $(date -u +%T) $(grep -c 'rejected: fresh operands back to back' "$out/tune/$n.tune.log")" \
    "fresh b2b rejections"; pack
  for run in run1 run2; do
    timeout "$5" python3 -m aotgemm.cli bench "$out/tune/$n.agb" -o "$out/bench/$run/$n" > "$out/bench/$n.$run.log" 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"
    grep -E "^geomean" -A1 "$out/bench/$n.$run.log" | tr '\n' ' ' | cut -c1-250; echo; pack
  done
}
