#!/usr/bin/env bash
# CPU (session 20): the other three per-channel fp8 bundles; the fp8 decode kernels of designs_for on the
# weights with register-fed e4m3 designs, for tests/gpu
cd /work/main && source .venv/bin/activate
while pgrep -f "s20/build.sh" >/dev/null; do sleep 5; done
B=.gpu/s20/b
for n in qwen3-4b-tp1-fp8-row qwen2.5-32b-tp4-fp8-row llama-3.1-70b-tp8-fp8-row; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build .gpu/s20/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$? $(tail -1 $B/$n.build.log) $(date -u +%T)"
done
/usr/bin/time -f "fp8 probe compile wall %e s" python bench/fp8_decode_probe.py compile .gpu/s20/fp8 --shapes 8192:1024,5120:1280,6144:2560 > .gpu/s20/fp8.compile.log 2>&1
echo "fp8 compile rc=$? $(date -u +%T)"; rm -rf .gpu/s20/fp8/obj; du -sh .gpu/s20/fp8
