#!/usr/bin/env bash
# session 27 call B: bench/torchao_fp8.py --compile with this session's compiled path (the op only at M a bundle
# kernel serves; torchao's own _scaled_mm call elsewhere, for Inductor to lower as it lowers torchao's): one graph
# per M (static) for the per-tensor and row-wise Llama-3.1-8B fp8 bundles, then M symbolic (dynamic, a torch.cond
# over the served ranges) for the per-tensor one at M = 2, 16, 64 (M = 1 would be specialised).
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/b27; rm -rf $R; mkdir -p $R/torchao
pack() { tar czf $OUT/b.tgz -C $R .; }
T=.gpu/s25/t/llama-3.1-8b-fp8.agb
RW=.gpu/s26/t/llama-3.1-8b-fp8-rowwise.agb
timeout 170 python3 bench/torchao_fp8.py $T --compile static --m 1,16,32,64 --trials 11 \
  -o $R/torchao/llama-3.1-8b-fp8.static.json > $R/torchao/llama-3.1-8b-fp8.static.txt 2>&1
echo "per tensor static rc=$? $(date -u +%T)"; tail -n 3 $R/torchao/llama-3.1-8b-fp8.static.txt | cut -c1-300; pack
timeout 120 python3 bench/torchao_fp8.py $RW --compile static --m 1,16,64 --trials 11 \
  -o $R/torchao/llama-3.1-8b-fp8-rowwise.static.json > $R/torchao/llama-3.1-8b-fp8-rowwise.static.txt 2>&1
echo "row-wise static rc=$? $(date -u +%T)"; tail -n 3 $R/torchao/llama-3.1-8b-fp8-rowwise.static.txt | cut -c1-300; pack
timeout 100 python3 bench/torchao_fp8.py $T --compile dynamic --m 2,16,64 --trials 11 \
  -o $R/torchao/llama-3.1-8b-fp8.dynamic.json > $R/torchao/llama-3.1-8b-fp8.dynamic.txt 2>&1
echo "per tensor dynamic rc=$? $(date -u +%T)"; tail -n 3 $R/torchao/llama-3.1-8b-fp8.dynamic.txt | cut -c1-300; pack
date -u
