"""Every fused-epilogue decode kernel of a bundle against the baselines, per layer and M (GPU; torch + tvm_ffi).

    python bench/fused_epilogue_probe.py BUNDLE [--m 1,8,16] [--trials 10] [-o probe.json]

For each fused layer of the bundle and each M: every kernel of the layer's
problem that serves M, cuBLAS + the epilogue as Inductor runs it (the tuner's
baseline, aotgemm.timing.cublas_call) and cuBLAS + eager torch ops, timed
in interleaved CUDA-graph rounds over L2-rotated operands (aotgemm.timing),
plain and in model mode. Prints the best kernel per row against both
baselines. Checks each kernel first (timing.check: float32 reference,
output poisoned); a wrong kernel is reported and not timed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--m", default="1,8,16")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("-o", "--output", default=None)
    a = ap.parse_args(argv)

    import torch

    from aotgemm import timing
    from aotgemm.bundle import open_bundle
    from aotgemm.epilogues import epilogue
    from aotgemm.gpus import identify
    from aotgemm.problem import GemmProblem

    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    b = open_bundle(a.bundle, verify_blobs=True)
    target = b.index.target(model.name)
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    timing.warm_up()
    rows, wrong = [], []
    for layer in [x for x in b.index.layers if x.epilogue != "identity"]:
        p = GemmProblem("bfloat16", "linear", layer.epilogue, layer.n, layer.k)
        # the decode kernels specialised on this weight; quack's and the registry's keep N and K dynamic (their
        # designs name neither) and serve large M
        ks = [k for k in target.kernels if k.epilogue == p.epilogue and
              (k.design_dict.get("n"), k.design_dict.get("k")) == (p.n, p.k)]
        ep = epilogue(p.epilogue)

        def eager(x, w, out, extras, ep=ep):
            out.copy_(ep.unfused(torch.mm(x, w.t()), **extras))

        for m in [int(v) for v in a.m.split(",")]:
            calls = {}
            for k in ks:
                if not k.serves(m):
                    continue
                call = timing.kernel_call(mod.get_function(k.symbol), p)
                err = timing.check(call, p, m, seed=m)
                if not err < timing.TOLERANCE:
                    wrong.append(f"{k.symbol} {layer.name} M={m}: rel {err:.2e}")
                    continue
                calls[k.symbol] = call
            ops = timing.Operands(p, m, props.L2_cache_size, seed=m)
            reps = timing.reps_for(p, m)
            res = {}
            for mode in (False, True):
                timers = {s: timing.GraphTimer(c, ops, reps=reps, model=mode) for s, c in calls.items()}
                timers["inductor"] = timing.GraphTimer(timing.cublas_call(p), ops, reps=reps, model=mode)
                timers["eager"] = timing.GraphTimer(eager, ops, reps=reps, model=mode)
                res[mode] = timing.interleaved(timers, a.trials)
            del ops
            kern = {s: timing.summarize(res[False][s]).median_us for s in calls}
            best = min(kern, key=kern.get) if kern else None
            ind, eag = (timing.summarize(res[False][n]).median_us for n in ("inductor", "eager"))
            row = {"layer": layer.name, "epilogue": p.epilogue, "n": p.n, "k": p.k, "m": m,
                   "kernels": len(calls), "best": best, "best_us": kern.get(best),
                   "inductor_us": ind, "eager_us": eag, "baseline": timing.baseline_name(p)}
            if best:
                c = timing.compare(res[False][best], res[False]["inductor"])
                cm = timing.compare(res[True][best], res[True]["inductor"])
                row.update(x_inductor=c.ratio_median, x_inductor_p20=c.ratio_low, model_x_inductor=cm.ratio_median,
                           x_eager=timing.compare(res[False][best], res[False]["eager"]).ratio_median,
                           family=next(k.family for k in ks if k.symbol == best),
                           floor_us=timing.floor_for(p, m, model.floor_bandwidth_gbps, model.floor_tflops))
            rows.append(row)
    print(f"{props.name}: fused decode kernels vs cuBLAS + Inductor epilogue / + eager ops "
          f"({a.trials} interleaved CUDA-graph rounds, medians, us)")
    print(f"{'layer':8} {'epilogue':12} {'M':>3} {'n':>2} {'best kernel':17} {'us':>7} {'induct':>7} {'eager':>7} "
          f"{'x ind':>6} {'p20':>6} {'model x':>7} {'x eager':>7} {'%floor':>6}")
    for r in rows:
        if not r["best"]:
            print(f"{r['layer']:8} {r['epilogue']:12} {r['m']:3d}  0 (no kernel serves M)")
            continue
        print(f"{r['layer']:8} {r['epilogue']:12} {r['m']:3d} {r['kernels']:2d} {r['family'][7:24]:17} "
              f"{r['best_us']:7.2f} {r['inductor_us']:7.2f} {r['eager_us']:7.2f} {r['x_inductor']:6.3f} "
              f"{r['x_inductor_p20']:6.3f} {r['model_x_inductor']:7.3f} {r['x_eager']:7.3f} "
              f"{100 * r['floor_us'] / r['best_us']:5.0f}%")
    for b_ in sorted({r["baseline"] for r in rows}):
        print("baseline:", b_)
    print("WRONG: " + "; ".join(wrong) if wrong else "every timed kernel passed its check")
    if a.output:
        Path(a.output).write_text(json.dumps({"gpu": props.name, "rows": rows, "wrong": wrong}, indent=1))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
