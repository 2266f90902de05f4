#!/usr/bin/env bash
# CPU (session 15): the two bundles of call E, rebuilt with the session-15 CUDA-core M = 1 designs
# (decode_designs._SIMT_SM90's new rows), H200 only, untuned; and the probe grids of calls B and D.
cd /work/main && source .venv/bin/activate
B=.gpu/s15/b; mkdir -p $B
for n in qwen2.5-32b-tp4 qwen3-4b-tp1; do
  /usr/bin/time -f "$n wall %e s" python -m aotgemm.cli build manifests/$n.toml --gpu H200_SXM --no-tune \
     --sources aotgemm --sources cutlass_operators --sources quack -o $B/$n.agb > $B/$n.build.log 2>&1
  echo "$n rc=$?"; tail -1 $B/$n.build.log
done
python bench/decode_probe.py compile .gpu/s15/mc/bf16 --multicast   # call B: 154 kernels, 108 s on 2 cores
python bench/decode_probe.py compile .gpu/s15/simtk --simt-k        # call D: 66 kernels, 23 s
