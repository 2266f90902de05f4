"""Session 38: two sets of `aotgemm bench` runs of one manifest's bundle compared point by point.

  python compare_runs.py OLD_GLOB NEW_GLOB      (globs of the bench JSONs, packed .json.gz or plain)

Prints each point (layer, M; split points left out) whose speed-up moved by more than 2%, with both sides' times
(ours, the baseline) averaged over the runs, then over M = 2, 4, 8 (the buckets the max_m 8 TMA kernels serve) the
geometric mean of new/old for our time, the baseline's and the speed-up, and the whole geomean's change. Used for
calls C-E and H against the runs they replace (`compare.txt`): across machines the baseline moves as much as ours.
"""
import glob
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io

from results_io import read_json  # noqa: E402


def points(pattern):
    out = {}
    for path in sorted(glob.glob(pattern)):
        for r in read_json(path)["rows"]:
            if not r["split"]:
                out.setdefault((r["layer"], r["m"]), []).append(r)
    return out


def mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


def geo(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main(old_glob, new_glob):
    old, new = points(old_glob), points(new_glob)
    both = sorted(set(old) & set(new))
    moved, small = [], {"ours": [], "baseline": [], "speed-up": []}
    for key in both:
        o, n = old[key], new[key]
        so, sn = geo([r["speedup"] for r in o]), geo([r["speedup"] for r in n])
        moved.append(sn / so)
        if abs(sn / so - 1) > 0.02:
            print(f"  {key[0]:8s} M={key[1]:<5d} {so:.3f}x -> {sn:.3f}x  ours {mean(o, 'us'):8.2f} -> {mean(n, 'us'):8.2f} us"
                  f"  baseline {mean(o, 'cublas_us'):8.2f} -> {mean(n, 'cublas_us'):8.2f} us")
        if key[1] in (2, 4, 8):
            small["ours"].append(mean(n, "us") / mean(o, "us"))
            small["baseline"].append(mean(n, "cublas_us") / mean(o, "cublas_us"))
            small["speed-up"].append(sn / so)
    print("  M = 2, 4, 8, new/old: " + ", ".join(f"{k} x{geo(v):.3f}" for k, v in small.items())
          + f"; all {len(both)} points: speed-up x{geo(moved):.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
