"""Session 24, call A: where does the Llama-3.1-8B MLP lose time against the sum of its parts?

    python mlp_parts.py FUSED_BUNDLE PLAIN_BUNDLE --m 4,8,16 -o OUT.json

Session 23's MLP at M = 16 (bench/mlp_fused.py) ran 90.1 us with a fused gate_up kernel and a fused down kernel,
where the same designs' plain kernels had timed 57.0 + 28.6 us back to back (call E). This times, interleaved,
over the MLP's own operands (bench/mlp_fused.MlpOperands, L2-rotated):
  G:<sym>    the fused gate_up + SwiGLU kernel alone, into h              (every one the fused bundle has for M)
  D:<sym>    the fused down + residual kernel alone, from h               (every one for M)
  GD:<g>     G:<g> then the bundle's D at M: the MLP's two GEMMs
  GxD:<g>    the same with a one-element torch kernel between them (no PDL edge from G to D)
  Gp:<sym>   the plain bundle's gate_up kernel at M alone (identity epilogue, into a [M, 28672] buffer)
  Dp:<sym>   the plain bundle's down kernel at M alone (identity epilogue)
  Gc, Dc     cuBLAS + Inductor's SwiGLU, cuBLAS + Inductor's residual add (timing.cublas_call)
  Gcp        cuBLAS gate_up alone (torch.mm, identity)
  base       Gc then Dc: the MLP baseline
Every GD combination is checked first against a float32 reference (fresh data, outputs poisoned).
Prints one table per M, medians and spreads, last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("fused")
    ap.add_argument("plain")
    ap.add_argument("--m", default="4,8,16")
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    import torch

    from aotgemm import timing
    from aotgemm.bundle import CUBLAS, open_bundle
    from aotgemm.gpus import identify
    from aotgemm.problem import GemmProblem, bucket_for
    from mlp_fused import HIDDEN, INTER, MlpOperands, reference

    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))

    def load(path):
        b = open_bundle(path, verify_blobs=True)
        t = b.index.target(model.name)
        mod = timing.load_kernel_library(b.blob(t.library), t.env["link_mode"])
        return b, t, mod

    fb, ft, fmod = load(a.fused)
    pb, pt, pmod = load(a.plain)
    gu = GemmProblem("bfloat16", "linear", "swiglu", 2 * INTER, HIDDEN)
    dn = GemmProblem("bfloat16", "linear", "residual_add", HIDDEN, INTER)
    gp = GemmProblem("bfloat16", "linear", "identity", 2 * INTER, HIDDEN)
    for p in (gu, dn):
        timing.baseline_name(p)  # compiles Inductor's epilogue graphs before any capture

    def kernels_for(t, p, m):
        return [k for k in t.kernels if (k.dtype, k.epilogue) == (p.dtype, p.epilogue)
                and dict(k.design_dict).get("n") == p.n and dict(k.design_dict).get("k") == p.k and k.serves(m)]

    def chosen(t, b, p, m):
        for e in t.dispatch:
            if e.key == p.key + (bucket_for(m, b.index.m_buckets),):
                return e.kernel
        return None

    timing.warm_up()
    doc = {"gpu": props.name, "rows": []}
    tables = []
    for m in [int(v) for v in a.m.split(",")]:
        g_syms = [k.symbol for k in kernels_for(ft, gu, m)]
        d_syms = [k.symbol for k in kernels_for(ft, dn, m)]
        fam = {k.symbol: f"{k.family.removeprefix('decode_')} m{k.max_m}" for k in ft.kernels + pt.kernels}
        d_best = chosen(ft, fb, dn, m)
        if d_best in (None, CUBLAS) or d_best not in d_syms:
            d_best = d_syms[0]
        g_plain = chosen(pt, pb, gp, m)
        fn = {s: timing.kernel_call(fmod.get_function(s), gu) for s in g_syms}
        fn.update({s: timing.kernel_call(fmod.get_function(s), dn) for s in d_syms})
        gc, dc = timing.cublas_call(gu), timing.cublas_call(dn)
        gcp = timing.cublas_call(gp)
        tick = torch.zeros(1, device="cuda")

        def G(s):
            return lambda x, w, out, ex: fn[s](x, w[0], ex["h"], {})

        def D(s):
            return lambda x, w, out, ex: fn[s](ex["h"], w[1], out, {"residual": ex["residual"]})

        def seq(*calls):
            def call(x, w, out, ex):
                for c in calls:
                    c(x, w, out, ex)
            return call

        sides = {}
        for s in g_syms:
            sides[f"G:{s[8:16]}"] = G(s)
        for s in d_syms:
            sides[f"D:{s[8:16]}"] = D(s)
        for s in g_syms:
            sides[f"GD:{s[8:16]}"] = seq(G(s), D(d_best))
        tma_g = [s for s in g_syms if "tma" in fam[s]] or g_syms
        sides[f"GxD:{tma_g[0][8:16]}"] = seq(G(tma_g[0]), lambda *_: tick.add_(1.0), D(d_best))
        if g_plain not in (None, CUBLAS):
            pfn = timing.kernel_call(pmod.get_function(g_plain), gp)
            sides[f"Gp:{g_plain[8:16]}"] = lambda x, w, out, ex: pfn(x, w[0], ex["full"], {})
        dp = GemmProblem("bfloat16", "linear", "identity", HIDDEN, INTER)
        d_plain = chosen(pt, pb, dp, m)
        if d_plain not in (None, CUBLAS):
            dpfn = timing.kernel_call(pmod.get_function(d_plain), dp)
            sides[f"Dp:{d_plain[8:16]}"] = lambda x, w, out, ex: dpfn(ex["h"], w[1], out, {})
        sides["Gc"] = lambda x, w, out, ex: gc(x, w[0], ex["h"], {})
        sides["Gcp"] = lambda x, w, out, ex: gcp(x, w[0], ex["full"], {})
        sides["Dc"] = lambda x, w, out, ex: dc(ex["h"], w[1], out, {"residual": ex["residual"]})
        sides["base"] = seq(sides["Gc"], sides["Dc"])

        # correctness of every GD combination and the baseline, fresh data, outputs poisoned
        g = torch.Generator(device="cuda").manual_seed(1000 + m)
        bf = torch.bfloat16
        x = torch.randn(m, HIDDEN, device="cuda", generator=g).to(bf)
        wgu = (torch.randn(2 * INTER, HIDDEN, device="cuda", generator=g) * HIDDEN ** -0.5).to(bf)
        wd = (torch.randn(HIDDEN, INTER, device="cuda", generator=g) * INTER ** -0.5).to(bf)
        r = torch.randn(m, HIDDEN, device="cuda", generator=g).to(bf)
        ref = reference(x, wgu, wd, r)
        errs = {}
        for name, call in sides.items():
            if not (name.startswith(("GD", "GxD")) or name == "base"):
                continue
            out = torch.full((m, HIDDEN), float("nan"), device="cuda", dtype=bf)
            call(x, (wgu, wd), out, {"residual": r, "h": torch.full((m, INTER), float("nan"), device="cuda",
                                                                       dtype=bf)})
            torch.cuda.synchronize()
            errs[name] = ((out.float() - ref).norm() / ref.norm()).item()
        del x, wgu, wd, r, ref

        ops = MlpOperands(m, props.L2_cache_size, seed=m)
        for s in ops.sets:
            s[2]["full"] = torch.empty(m, 2 * INTER, device="cuda", dtype=bf)
        reps = 16
        timers = {n: timing.GraphTimer(c, ops, reps=reps) for n, c in sides.items()}
        samples = timing.interleaved(timers, a.trials, warmup=timing.WARMUP_ROUNDS)
        res = {n: timing.summarize(v) for n, v in samples.items()}
        del timers, ops
        torch.cuda.empty_cache()
        lines = [f"M = {m}: d_best = {d_best[8:16]} ({fam[d_best]}), plain bundle gate_up = "
                 f"{g_plain if g_plain in (None, CUBLAS) else g_plain[8:16]}",
                 f"  {'side':14} {'kernel':22} {'us':>8} {'spread':>7} {'rel err':>8}"]
        for n, tm in res.items():
            sym = n.split(":")[1] if ":" in n else ""
            full = next((s for s in fam if s[8:16] == sym), "")
            lines.append(f"  {n:14} {fam.get(full, ''):22} {tm.median_us:8.2f} {100 * tm.spread:6.1f}% "
                         f"{errs[n]:8.1e}" if n in errs else
                         f"  {n:14} {fam.get(full, ''):22} {tm.median_us:8.2f} {100 * tm.spread:6.1f}%")
        tables.append("\n".join(lines))
        doc["rows"].append({"m": m, "d_best": d_best, "g_plain": g_plain, "errs": errs,
                            "us": {n: round(t.median_us, 3) for n, t in res.items()},
                            "spread": {n: round(t.spread, 4) for n, t in res.items()},
                            "families": {n: fam.get(next((s for s in fam if s[8:16] == n.split(':')[-1]), ''), '')
                                         for n in res}})
    out_path = Path(a.output)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=".mlp_parts-")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out_path)
    print(f"{props.name}: the MLP's parts over its own operands ({a.trials} interleaved CUDA-graph rounds, "
          f"16 per graph, medians)")
    print("\n".join(tables))
    bad = [(r["m"], n) for r in doc["rows"] for n, e in r["errs"].items() if not e < timing.TOLERANCE]
    print("WRONG: " + str(bad) if bad else "all combinations correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
