"""Session 21 (CPU): the M <= 16 ceilings of call C's bench runs at the best read rate our kernels reached.

`aotgemm bench`'s ceilings put a kernel at each point's floor, which is the weight's bytes at the copy rate
(4.26 TB/s on the H200: a copy reads and writes). A GEMM only reads, and our CUDA-core kernels streamed
Llama-3.1-8B's and Qwen3-4B's lm_head at 107-109% of that floor (call C). So the copy floor is no hard bound;
this prints, per bundle and run, the geomean over the M <= 16 points of cuBLAS's time over (floor / 1.09), with
no launch and with the launch the run measured (`launch_floor_us`), beside the bench's measured geomean.

    python bench/results/h200-2026-12-02/session21/scripts/read_rate_ceilings.py   # from the repository root
"""
import glob
import math
import sys

sys.path.insert(0, "bench")
from results_io import read_json  # noqa: E402

BEST = 1.09  # the highest % of the floor in call C: lm_head at M = 1-2 (CUDA-core kernels)


def geo(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))


runs = sorted({f.removesuffix(".gz") for f in glob.glob("bench/results/h200-2026-12-02/session21/callC/bench/run*/*.json*")})
top = max(r["pct_of_floor"] for f in runs for r in read_json(f)["rows"])
print(f"highest % of the copy floor of any point in call C: {top}%; the ceilings below take {BEST:.0%}")
print(f"{'run':5s} {'bundle':24s} {'launch us':>9s} {'no launch':>9s} {'+ launch':>9s} {'measured':>9s}")
for f in runs:
    d = read_json(f)
    rows = [r for r in d["rows"] if not r["split"] and r["m"] <= 16]
    L = d["launch_floor_us"]
    c0 = geo([r["cublas_us"] / (r["floor_us"] / BEST) for r in rows])
    c1 = geo([r["cublas_us"] / (r["floor_us"] / BEST + L) for r in rows])
    name = f.split("/")[-1].split("H200_SXM-")[1].removesuffix(".json")
    print(f"{f.split('/')[-2]:5s} {name:24s} {L:9.2f} {c0:9.3f} {c1:9.3f} {d['geomean_speedup_m_le_16']:9.3f}")
