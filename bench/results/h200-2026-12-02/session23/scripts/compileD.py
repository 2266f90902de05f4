"""CPU (session 23, call D): the cp.async kernel with whole-row copies ("coal": each cp.async instruction of a warp
copies runs of U*64 contiguous bytes of whole rows, 256 bytes at unroll 4 and 512 at 8, instead of 64 bytes of 8
rows; lanes then read back what others copied), beside designs_for's kernels of max_m <= 16, on the large and
medium weights where the tensor-core kernels hold DRAM at 94-96% of its peak while the CUDA-core kernel's
512-byte row loads hold 99-100% (calls B and C: PM sampling). Per swapab_cp design of designs_for with wn 1: its
coal twin, and the twin with twice the unroll where valid. Usage: compileD.py OUTDIR."""
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources import decode_kernels as dk  # noqa: E402

SHAPES = [(28672, 4096), (4096, 14336), (13824, 5120), (6144, 4096), (128256, 4096)]


def designs(n, k):
    out = [d for d in dk.designs_for(n, k, "sm_90a") if d["max_m"] <= 16]
    if not any(d["kind"] == "swapab_cp" for d in out):  # the lm_head: the gate_up's cp.async geometry
        out += [dk.make_design(n, k, kind="swapab_cp", nt=nt, mt=2, wn=1, wk=1, ck=1, unroll=4, stages=3, pdl=True)
                for nt in (1, 2)]
    for d in list(out):
        if d["kind"] != "swapab_cp" or d["wn"] != 1:
            continue
        for u in (d["unroll"], 2 * d["unroll"]):
            try:
                c = dk.make_design(n, k, kind="swapab_cp", nt=d["nt"], mt=d["mt"], wn=1, wk=d["wk"], ck=d["ck"],
                                   unroll=u, stages=d["stages"], pdl=True, epi=d.get("epi", "push"), coal=True)
            except ValueError:
                continue
            if c not in out:
                out.append(c)
    return out


if __name__ == "__main__":
    decode_probe.compile_grid(sys.argv[1], SHAPES, designs)
