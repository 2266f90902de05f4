"""CPU (session 24, for calls D-F): the MLP's gate_up + SwiGLU and down + residual kernels that call A timed in pairs,
each three ways: PDL as builds make them (weights requested before griddepcontrol.wait, the next kernel released
when the main loop ends), PDL without the early release (design key "late": the next kernel launches as this
one's CTAs exit), and no PDL. Usage: compileC.py OUTDIR."""
import sys

sys.path.insert(0, "bench")
import decode_probe  # noqa: E402

from aotgemm.compiler.sources import decode_kernels as dk  # noqa: E402


def variants(d):
    out = []
    for pdl, late in ((True, False), (True, True), (False, False)):
        v = dict(d, pdl=pdl)
        if late:
            v["late"] = 1
        dk._validate(v)
        out.append(v)
    return out


def designs(n, k):
    if (n, k) == (28672, 4096):
        base = [dk.make_tma_design(n, k, max_m=16, wg=2, bk=64, stages=5, ck=1, epilogue="swiglu"),
                dk.make_tma_design(n, k, max_m=32, wg=2, bk=64, stages=5, ck=1, epilogue="swiglu"),
                dk.make_design(n, k, nt=1, mt=2, wn=1, wk=1, ck=1, unroll=4, stages=3, pdl=True, epilogue="swiglu"),
                dk.make_design(n, k, nt=1, mt=2, wn=1, wk=1, ck=1, unroll=2, stages=4, pdl=True, epilogue="swiglu",
                               coal=True)]
    else:
        base = [dk.make_tma_design(n, k, max_m=16, wg=1, bk=128, stages=10, ck=2, epilogue="residual_add"),
                dk.make_tma_design(n, k, max_m=16, wg=1, bk=128, stages=10, ck=1, epilogue="residual_add")]
    return [v for d in base for v in variants(d)]


if __name__ == "__main__":
    decode_probe.compile_grid(sys.argv[1], [(28672, 4096), (4096, 14336)], designs)
