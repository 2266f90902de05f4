"""Where issue 11's (bf16) and issue 14's (fp8) targets stand against what any kernel could reach on the GPU benched.

    python bench/issue_targets.py BENCH.json [BENCH.json ...] [--json OUT.json]

Each BENCH.json is what `aotgemm bench` wrote (packed .json.gz read too). Per bundle and run it prints each target,
the run's figure, and what a kernel would need to reach the target: a uniform fraction f of the floor's rate at every
point, plus the run's measured launch (`launch_floor_us`: a 256-byte copy kernel in the same kind of CUDA graph), with
cuBLAS kept wherever it is faster (the tuner's never-slower rule). f is capped per point at what a kernel can reach:
the fastest read of a weight ever measured on the GPU (`read_over_copy`, 1.09x the copy rate on the H200) where the
floor is the bytes', the measured peak (1.0) where it is the FLOPs'. Where a kernel at those caps everywhere still
misses the target, no kernel reaches it.

Why: the targets were set before the floor was measured. A geomean target over points where cuBLAS already runs near
the floor asks more than the bytes allow, and this says by how much from the bench's own rows rather than by hand.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from results_io import read_json  # noqa: E402

# bundle kind -> (its issue, {target: threshold}): issue 11 (16-bit bundles) and 14 (fp8), each run on its own
TARGETS = {
    "bf16": (11, {"all": 1.10, "m<=16": 1.25, "floor% m<=16": 70.0, "lowest": 0.99}),
    "fp8": (14, {"all": 1.15, "m<=16": 1.50, "lowest": 0.99}),
}


def _geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def compute_bound(r: dict, model) -> bool:
    """Whether the point's floor is its FLOPs at the GPU model's measured peak (timing.floor_us: the larger of the
    two)."""
    from aotgemm.timing import FLOPS_MULTIPLE

    tflops = model.measured_bf16_tflops * FLOPS_MULTIPLE.get(r["dtype"], 1)
    return 2.0 * r["m"] * r["n"] * r["k"] / (tflops * 1e6) >= r["floor_us"] * (1 - 1e-3)


def reachable(rows, f: float, launch_us: float, caps) -> float:
    """The geomean over `rows` of a kernel at fraction min(f, cap) of each point's floor plus a launch, where it
    beats cuBLAS."""
    return _geo([max(1.0, r["cublas_us"] / (r["floor_us"] / min(f, cap) + launch_us)) for r, cap in zip(rows, caps)])


def needed_fraction(rows, target: float, launch_us: float, caps) -> float | None:
    """The smallest uniform fraction of the floor at which reachable() meets `target` (bisection); None where a
    kernel at every cap misses it."""
    top = max(caps)
    if reachable(rows, top, launch_us, caps) < target:
        return None
    lo, hi = 0.01, top
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if reachable(rows, mid, launch_us, caps) >= target else (mid, hi)
    return hi


def assess(bench: dict, model) -> dict:
    rows = [r for r in bench["rows"] if not r["split"]]
    kind = "bf16" if rows[0]["dtype"] in ("bfloat16", "float16") else "fp8"
    issue, targets = TARGETS[kind]
    launch, read = bench["launch_floor_us"], bench["read_over_copy"]
    small = [r for r in rows if r["m"] <= 16]
    out = {"bundle": Path(bench["bundle"]).stem, "kind": kind, "issue": issue, "launch_us": launch,
           "read_over_copy": read, "targets": []}
    for what, threshold in targets.items():
        if what in ("all", "m<=16"):
            pts = rows if what == "all" else small
            got = _geo([r["speedup"] for r in pts])
            caps = [1.0 if compute_bound(r, model) else read for r in pts]
            f = needed_fraction(pts, threshold, launch, caps)
            best = reachable(pts, max(caps), launch, caps)
            ours = sorted(r["pct_of_floor"] for r in pts if r["source"] != "cublas")
            out["targets"].append({"what": f"geomean {what}", "target": threshold, "got": round(got, 4),
                                   "met": got >= threshold,
                                   "needs_pct_of_floor": None if f is None else round(100 * f, 1),
                                   "at_caps": round(best, 4), "compute_bound_points": caps.count(1.0),
                                   "verdict": "no kernel reaches it" if f is None else "a kernel could",
                                   "ours_pct_of_floor": [ours[0], ours[-1]] if ours else None})
        elif what == "floor% m<=16":
            got = min(r["pct_of_floor"] for r in small)
            worst = min(small, key=lambda r: r["floor_us"])  # the smallest weight: a launch costs it the most
            best = 100 * worst["floor_us"] / (worst["floor_us"] / read + launch)
            out["targets"].append({"what": "every M<=16 point's % of floor", "target": threshold, "got": got,
                                   "met": got >= threshold, "best_with_launch": round(best, 1),
                                   "at_floor_with_launch": round(100 * worst["floor_us"]
                                                                 / (worst["floor_us"] + launch), 1),
                                   "smallest_weight": f"{worst['n']}x{worst['k']}",
                                   "verdict": "no kernel reaches it" if best < threshold else "a kernel could"})
        else:
            got = min(r["speedup"] for r in bench["rows"])
            out["targets"].append({"what": "lowest point", "target": threshold, "got": got, "met": got >= threshold,
                                   "verdict": ""})
    return out


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--gpu", default="H200_SXM", help="the GPU model the benches ran on (aotgemm.gpus)")
    args = ap.parse_args(argv)
    from aotgemm.gpus import gpu_model

    model = gpu_model(args.gpu)
    results = []
    for p in args.bench:
        bench = read_json(p)
        a = assess(bench, model)
        a["file"], a["gpu"], a["date"] = str(p), bench["gpu"], bench["date"]
        a["run"] = next((part for part in p.parts if part.startswith("run")), "")  # bench/.../run1/NAME/...
        results.append(a)
    print(f"{'bundle':34s} {'issue':>5s}  {'target':40s} {'got':>7s} {'met':>4s}  what it takes")
    for a in results:
        for t in a["targets"]:
            if "needs_pct_of_floor" in t:
                ours = (f"; ours {t['ours_pct_of_floor'][0]:.0f}-{t['ours_pct_of_floor'][1]:.0f}%"
                        if t["ours_pct_of_floor"] else "")
                need = (f"no kernel reaches it: {t['at_caps']:.3f}x at every cap{ours}"
                        if t["needs_pct_of_floor"] is None
                        else f"{t['needs_pct_of_floor']:.1f}% of the floor at every point (at every cap "
                             f"{t['at_caps']:.3f}x{ours})")
            elif "best_with_launch" in t:
                need = (f"{t['smallest_weight']}: at most {t['best_with_launch']:.1f}% at the fastest read, "
                        f"{t['at_floor_with_launch']:.1f}% at the floor's rate, with a launch ({t['verdict']})")
            else:
                need = ""
            got = f"{t['got']:.3f}x" if "geomean" in t["what"] or t["what"] == "lowest point" else f"{t['got']:.1f}%"
            label, target = (a["bundle"] + " " + a["run"])[:34], f"{t['what']} >= {t['target']}"
            print(f"{label:34s} {a['issue']:5d}  {target:40s} {got:>7s} {'yes' if t['met'] else 'no':>4s}  {need}")
    launches = [a["launch_us"] for a in results]
    print(f"(launch: {min(launches):.2f}-{max(launches):.2f} us; fastest read "
          f"{max(a['read_over_copy'] for a in results):.2f}x the floor's rate; cuBLAS kept where faster)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
