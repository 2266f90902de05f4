"""CPU (session 23, call A): the register-fed mma.sync kernel with a register ring (design key "ring": chunk
i+ring-1's loads issued before chunk i's MMAs, all chunks unrolled) and the warps of a CTA taking alternate chunks
of K ("kx": together they read one contiguous run of each row, as the CUDA-core kernel's warps do), beside
designs_for's kernels of max_m <= 16, on the weights where the tensor-core kernels stream slower at M = 4-16 than
the CUDA-core ones at M = 1-2 (session 20, calls E and F). The design keys ring and kx were not kept: run it
at 708f8f1 with rf_ring_kx.patch applied. Usage: compileA.py OUTDIR."""
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources import decode_kernels as dk  # noqa: E402

SHAPES = [(28672, 4096), (4096, 14336), (6144, 4096), (1792, 5120), (5120, 1280)]
# (wk, unroll, ring): 4-8 K-splitting warps, 2-5 chunks of 1-2 steps in flight
RINGS = [(8, 2, 4), (8, 1, 6), (4, 2, 4), (4, 2, 6), (8, 2, 3), (4, 1, 8)]


def ring_regs(nt, mt, u, ring):
    # 32-bit registers the ring holds per lane: W (two rows' 16-byte pieces per 16-row tile) and x pieces
    return ring * (u * mt * 8 + u * nt * 4)


def designs(n, k):
    out = [d for d in dk.designs_for(n, k, "sm_90a") if d["max_m"] <= 16]
    for nt in (1, 2):
        for mt in (1, 2):
            for wk, u, ring in RINGS:
                if ring_regs(nt, mt, u, ring) > 176:
                    continue
                try:
                    out.append(dk.make_design(n, k, kind="swapab_rf", nt=nt, mt=mt, wn=1, wk=wk, ck=1, unroll=u,
                                              pdl=True, ring=ring, kx=True))
                except ValueError:
                    pass
    # controls: the ring without kx, and kx without the ring
    for kw in ({"ring": 4}, {"kx": True}):
        for nt in (1, 2):
            try:
                out.append(dk.make_design(n, k, kind="swapab_rf", nt=nt, mt=1, wn=1, wk=8, ck=1, unroll=2,
                                          pdl=True, **kw))
            except ValueError:
                pass
    return out


if __name__ == "__main__":
    decode_probe.compile_grid(sys.argv[1], SHAPES, designs)
