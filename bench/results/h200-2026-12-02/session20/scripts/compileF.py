"""CPU (session 20, call F): the register-fed mma.sync kernel (swapab_rf) on Llama-3.1-8B's gate_up, the designs
session 19 timed there (mt 1 and 2, 8 K-splitting warps, unroll 1 and 2, max_m 8 and 16), and the CUDA-core M = 2
kernel for reference, for ncu (call E's question: the rf kernel has the CUDA-core kernel's grid shape, many
short CTAs, but lost on this weight in session 19)."""
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources.decode_kernels import make_design, make_simt_design  # noqa: E402

N, K = 28672, 4096
designs = [make_design(N, K, kind="swapab_rf", nt=nt, mt=mt, wn=1, wk=8, ck=1, unroll=u, pdl=True)
           for nt in (1, 2) for mt in (1, 2) for u in (1, 2)]
designs.append(make_simt_design(N, K, max_m=2, rows=2, warps=4, unroll=2, pdl=True))
decode_probe.compile_and_link(sys.argv[1], decode_probe.symbol_table(designs))
