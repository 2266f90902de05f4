"""Session 24, calls D-F: the MLP's two GEMMs with and without their PDL release.

    python mlp_pdl.py KERNEL_DIR --m 4,8,16 -o OUT.json

KERNEL_DIR is compileC.py's output: gate_up + SwiGLU and down + residual designs, each as builds make it ("pdl":
weights requested before griddepcontrol.wait, the next kernel released when the main loop ends), without the
early release ("pdlx": the next kernel launches as this one's CTAs exit) and without PDL ("nopdl"). Over the MLP's
own operands (bench/mlp_fused.MlpOperands), interleaved CUDA-graph rounds of 16 calls each:
  each kernel alone (16 of it back to back: its own PDL edges), every G -> D pair of variants, and the
  baseline (cuBLAS + Inductor's SwiGLU, cuBLAS + Inductor's residual add). With --model, a copy kernel writes x
  before each call (as `aotgemm bench`'s "in a model"), so no D is followed straight by the next G.
Every pair is checked against a float32 reference first (fresh data, outputs poisoned). Prints, last, per M and
design pair a 3x3 table (G's variant by D's) of the pair's time, and the baseline's.
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

VARIANTS = ("pdl", "pdlx", "nopdl")


def variant(name: str) -> str:
    return "pdlx" if "_pdlx" in name else "pdl" if "_pdl" in name else "nopdl"


def base_of(name: str) -> str:
    return name.replace("_pdlx", "").replace("_pdl", "").removeprefix("aotgemm_")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kernels")
    ap.add_argument("--m", default="4,8,16")
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("--model", action="store_true",
                    help="as in a model: a copy kernel writes x before each call (timing.GraphTimer(model=True)), so "
                         "no D is followed straight by the next G")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    import torch
    import tvm_ffi

    from aotgemm import timing
    from aotgemm.problem import GemmProblem
    from mlp_fused import HIDDEN, INTER, MlpOperands, reference

    props = torch.cuda.get_device_properties(0)
    mod = tvm_ffi.load_module(str(Path(a.kernels) / "kernels.so"))
    designs = json.loads((Path(a.kernels) / "designs.json").read_text())
    gu = GemmProblem("bfloat16", "linear", "swiglu", 2 * INTER, HIDDEN)
    dn = GemmProblem("bfloat16", "linear", "residual_add", HIDDEN, INTER)
    gc, dc = timing.cublas_call(gu), timing.cublas_call(dn)
    timing.warm_up()
    doc = {"gpu": props.name, "rows": []}
    out_lines = []
    for m in [int(v) for v in a.m.split(",")]:
        gs = sorted(s for s, d in designs.items() if d.get("epilogue") == "swiglu" and d["max_m"] >= m)
        ds = sorted(s for s, d in designs.items() if d.get("epilogue") == "residual_add" and d["max_m"] >= m)
        fn = {s: timing.kernel_call(mod.get_function(s), gu if s in gs else dn) for s in gs + ds}

        def G(s):
            return lambda x, w, out, ex: fn[s](x, w[0], ex["h"], {})

        def D(s):
            return lambda x, w, out, ex: fn[s](ex["h"], w[1], out, {"residual": ex["residual"]})

        def pair(g, d):
            def call(x, w, out, ex):
                G(g)(x, w, out, ex)
                D(d)(x, w, out, ex)
            return call

        sides = {s: (G(s) if s in gs else D(s)) for s in gs + ds}
        pairs = {(g, d): pair(g, d) for g in gs for d in ds}
        sides.update({f"{g}|{d}": c for (g, d), c in pairs.items()})

        def base(x, w, out, ex):
            gc(x, w[0], ex["h"], {})
            dc(ex["h"], w[1], out, {"residual": ex["residual"]})
        sides["base"] = base

        gen = torch.Generator(device="cuda").manual_seed(2000 + m)
        bf = torch.bfloat16
        x = torch.randn(m, HIDDEN, device="cuda", generator=gen).to(bf)
        wgu = (torch.randn(2 * INTER, HIDDEN, device="cuda", generator=gen) * HIDDEN ** -0.5).to(bf)
        wd = (torch.randn(HIDDEN, INTER, device="cuda", generator=gen) * INTER ** -0.5).to(bf)
        r = torch.randn(m, HIDDEN, device="cuda", generator=gen).to(bf)
        ref = reference(x, wgu, wd, r)
        worst = 0.0
        for name, call in list(pairs.items()) + [("base", base)]:
            out = torch.full((m, HIDDEN), float("nan"), device="cuda", dtype=bf)
            call(x, (wgu, wd), out, {"residual": r, "h": torch.full((m, INTER), float("nan"), device="cuda",
                                                                       dtype=bf)})
            torch.cuda.synchronize()
            err = ((out.float() - ref).norm() / ref.norm()).item()
            worst = max(worst, err) if err == err else float("inf")
        del x, wgu, wd, r, ref

        ops = MlpOperands(m, props.L2_cache_size, seed=m)
        timers = {n: timing.GraphTimer(c, ops, reps=16, model=a.model) for n, c in sides.items()}
        samples = timing.interleaved(timers, a.trials, warmup=timing.WARMUP_ROUNDS)
        res = {n: timing.summarize(v) for n, v in samples.items()}
        del timers, ops
        torch.cuda.empty_cache()
        doc["rows"].append({"m": m, "worst_rel_err": worst,
                            "us": {n: round(t.median_us, 3) for n, t in res.items()},
                            "spread": {n: round(t.spread, 4) for n, t in res.items()}})
        out_lines.append(f"M = {m}: baseline (cuBLAS + Inductor epilogues) {res['base'].median_us:.2f} us "
                         f"({100 * res['base'].spread:.1f}%); worst rel err of the pairs {worst:.1e}")
        out_lines.append(f"  alone (16 back to back): " + ", ".join(
            f"{base_of(s)}[{variant(s)}] {res[s].median_us:.2f}" for s in gs + ds))
        gbases = sorted({base_of(s) for s in gs})
        dbases = sorted({base_of(s) for s in ds})
        for gb in gbases:
            for db in dbases:
                out_lines.append(f"  {gb} -> {db}   (rows: G's variant; columns: D's; us, spread)")
                out_lines.append(f"    {'':6} " + " ".join(f"{v:>15}" for v in VARIANTS))
                for gv in VARIANTS:
                    cells = []
                    for dv in VARIANTS:
                        g = next(s for s in gs if base_of(s) == gb and variant(s) == gv)
                        d = next(s for s in ds if base_of(s) == db and variant(s) == dv)
                        t = res[f"{g}|{d}"]
                        cells.append(f"{t.median_us:8.2f} ({100 * t.spread:3.1f}%)")
                    out_lines.append(f"    {gv:6} " + " ".join(cells))
    out_path = Path(a.output)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=".mlp_pdl-")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out_path)
    print(f"{props.name}: the Llama-3.1-8B MLP's GEMMs with and without their PDL release "
          f"({a.trials} interleaved CUDA-graph rounds of 16 calls, medians"
          f"{'; as in a model: x written by a copy kernel before each call' if a.model else ''})")
    print("\n".join(out_lines))
    bad = [r["m"] for r in doc["rows"] if not r["worst_rel_err"] < timing.TOLERANCE]
    print(f"WRONG at M = {bad}" if bad else "all pairs correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
