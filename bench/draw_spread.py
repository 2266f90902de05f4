"""How much a tuned bundle's large-M wins move between operand allocations, back to back and as in a model.

Usage (GPU): python bench/draw_spread.py TUNED.agb [--min-m 4096] [--draws 6] [--json OUT.json]

For every layer x bucket of M >= --min-m where the bundle chose a kernel (and, for a split bucket, its lowest M
too), times that kernel against the baseline in --draws draws, each on newly allocated operands (aotgemm.timing's
L2-rotated Operands and CUDA graphs, 15 interleaved rounds, as `aotgemm bench` times a point), back to back and
with a kernel writing x just before. Prints, per point, the median ratio of each draw in both figures and the
baseline's median time back to back in each, and whether the tuner's rule (`tune._holds_back_to_back` in the
first draw and in `tune.FRESH_DRAWS` more) would have caught a draw below 0.99x back to back.

Why: session 32 (call A) saw cuBLAS back to back on Qwen3-4B's o at M = 8192 take 261.6 us in one `aotgemm
bench` run and 222.4 us in the next, while as in a model it took 288.8 and 288.0 us; quack's kernel ran 1.046x
and 0.933x back to back there. This measures how often such draws come, on which points.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aotgemm import timing, tune  # noqa: E402
from aotgemm.bench import bench_points  # noqa: E402
from aotgemm.bundle.format import CUBLAS  # noqa: E402

LOSS = 0.99  # the ratio below which `aotgemm bench` would show a loss


def versus(call, base, ops, reps: int, trials: int, model: bool) -> timing.Comparison:
    """`call` against `base` on `ops` in `trials` interleaved rounds after the warm-up ones, back to back or as in a
    model (also bench/midm_splitk_probe.py's)."""
    timers = {"k": timing.GraphTimer(call, ops, reps=reps, model=model),
              "c": timing.GraphTimer(base, ops, reps=reps, model=model)}
    s = timing.interleaved(timers, trials, warmup=timing.WARMUP_ROUNDS)
    return timing.compare(s["k"], s["c"])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--min-m", type=int, default=4096)
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--trials", type=int, default=tune.TRIALS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    props, _, b, target = timing.open_for_gpu(args.bundle)
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    entries = {d.key: d for d in target.dispatch}
    timing.warm_up()
    rows = []
    for dtype in sorted({d.dtype for d in target.dispatch}):
        for layer in b.index.layers:
            problem = layer.problem(dtype)
            base = timing.cublas_call(problem)
            for m, bucket in bench_points(lambda bk: entries.get(problem.key + (bk,)), b.index.m_buckets):
                d = entries.get(problem.key + (bucket,))
                if bucket < args.min_m or d is None or d.kernel == CUBLAS:
                    continue
                call = timing.kernel_call(mod.get_function(d.kernel), problem)
                reps = timing.reps_for(problem, m)
                draws = []
                for i in range(args.draws):
                    ops = timing.Operands(problem, m, props.L2_cache_size, seed=tune.draw_seed(m, i))
                    plain = versus(call, base, ops, reps, args.trials, model=False)
                    in_model = versus(call, base, ops, reps, args.trials, model=True)
                    draws.append({"b2b": round(plain.ratio_median, 4), "b2b_low": round(plain.ratio_low, 4),
                                  "model": round(in_model.ratio_median, 4),
                                  "base_b2b_us": round(plain.cublas.median_us, 2),
                                  "base_model_us": round(in_model.cublas.median_us, 2),
                                  "held": tune._holds_back_to_back(plain)})
                    del ops
                row = {"layer": layer.name, "m": m, "bucket": bucket, "kernel": d.kernel, "draws": draws}
                rows.append(row)
                b2b = [x["b2b"] for x in draws]
                base_us = [x["base_b2b_us"] for x in draws]
                print(f"{layer.name:8} M={m:5d} {d.kernel[:16]:16} b2b " + " ".join(f"{r:.3f}" for r in b2b)
                      + " | model " + " ".join(f"{x['model']:.3f}" for x in draws)
                      + f" | base b2b {min(base_us):.1f}-{max(base_us):.1f} us", flush=True)
    # the tuner looks at draws 0..FRESH_DRAWS (the first and the fresh ones) back to back
    seen = tune.FRESH_DRAWS + 1
    losing = [r for r in rows if any(x["b2b"] < LOSS for x in r["draws"])]
    caught = [r for r in losing if not all(x["held"] for x in r["draws"][:seen])]
    n_draws = sum(len(r["draws"]) for r in rows)
    n_low = sum(x["b2b"] < LOSS for r in rows for x in r["draws"])
    print(f"\n{len(rows)} points, {n_draws} draws: {n_low} draws below {LOSS}x back to back, on {len(losing)} points; "
          f"the tuner's {seen} draws would have refused {len(caught)} of those points")
    spreads = [max(x["base_b2b_us"] for x in r["draws"]) / min(x["base_b2b_us"] for x in r["draws"]) - 1 for r in rows]
    if spreads:
        print(f"baseline back to back, max/min over the draws: median +{100 * statistics.median(spreads):.1f}%, "
              f"largest +{100 * max(spreads):.1f}%")
    if args.json:
        args.json.write_text(json.dumps({"gpu": props.name, "bundle": str(args.bundle), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
