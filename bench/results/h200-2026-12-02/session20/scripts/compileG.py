"""CPU (session 20, call G): cp.async mma.sync designs (swapab_cp) for Llama-3.1-8B's gate_up on the CUDA-core
kernel's kind of grid (call E): 16 weight rows per CTA (mt 1, wn 1), K split over wk warps and ck CTAs of a cluster
(reduced in the owner's shared memory), so each CTA streams 16 rows x K/ck: 32-128 KB of W in 1792-7168 CTAs,
against designs_for's 896 CTAs of 256 KB. max_m 8 and 16; unroll 1-2; the most stages the chunks allow, up to 4.
With designs_for's cp.async and TMA designs and the CUDA-core M = 2 kernel for reference."""
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources import decode_designs as dd  # noqa: E402
from aotgemm.compiler.sources.decode_kernels import make_design, make_simt_design  # noqa: E402

N, K = 28672, 4096
designs = [d for d in dd.designs_for(N, K, "sm_90a") if d["kind"] in ("swapab_cp", "swapab_tma") and d["max_m"] <= 16]
designs.append(make_simt_design(N, K, max_m=2, rows=2, warps=4, unroll=2, pdl=True))
for nt in (1, 2):
    for ck in (2, 4):
        for wk in (2, 4, 8):
            for unroll in (1, 2):
                chunks = K // (ck * wk) // (32 * unroll)
                for stages in (4, 3, 2):
                    if stages > chunks:
                        continue
                    try:
                        designs.append(make_design(N, K, nt=nt, mt=1, wn=1, wk=wk, ck=ck, unroll=unroll,
                                                   stages=stages, pdl=True))
                        break
                    except ValueError as e:
                        print("skip", nt, ck, wk, unroll, stages, e)
table = decode_probe.symbol_table(designs)
print(len(table), "designs")
decode_probe.compile_and_link(sys.argv[1], table)
