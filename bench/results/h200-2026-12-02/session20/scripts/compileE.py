"""CPU (session 20, call E): the decode kernels for Llama-3.1-8B's gate_up (28672 x 4096) that builds offer at
M <= 16 (designs_for: CUDA-core max_m 1 and 2, cp.async max_m 8 and 16, TMA max_m 16), plus CUDA-core max_m 4
designs (not offered: session 17), cross-compiled and linked for bench/decode_probe.py profile under ncu."""
import json
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources import decode_designs as dd  # noqa: E402
from aotgemm.compiler.sources.decode_kernels import make_simt_design  # noqa: E402

N, K = 28672, 4096
designs = [d for d in dd.designs_for(N, K, "sm_90a") if d["max_m"] <= 16]
designs += [make_simt_design(N, K, max_m=4, rows=r, warps=w, unroll=u, pdl=True)
            for r, w, u in ((2, 4, 2), (2, 8, 1), (4, 8, 1))]
table = decode_probe.symbol_table(designs)
decode_probe.compile_and_link(sys.argv[1], table)
print(json.dumps({s: {k: v for k, v in d.items() if k not in ("n", "k")} for s, d in table.items()}, indent=0))
