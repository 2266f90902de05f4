"""Session 39, call B: the per-tensor fp8 bundles of Llama-3.1-8B and Qwen3-4B as HEAD built them (old: session 38's
tables) and with the e4m3 TMA table's three-design entries (new), tuned on one machine and benched old, new, old, new.

  python ab_table.py        (reads ../callB/ab/{old,new}/bench/run*/NAME beside this folder; prints the table)

Per bundle: each point (layer, M; split points left out) whose speed-up moved by more than 2% back to back or in a model
(x written just before, as the tuner ranks), both figures averaged over the two runs of each side, then the geomeans of
both over the bundle's points.
"""
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io

from results_io import read_json  # noqa: E402


def geo(vals):
    return math.exp(sum(map(math.log, vals)) / len(vals))


def main():
    ab = HERE.parent / "callB" / "ab"
    for name in ("llama-3.1-8b-fp8", "qwen3-4b-tp1-fp8"):
        pts = {}
        for side in ("old", "new"):
            for path in sorted((ab / side / "bench").glob(f"run*/{name}/*.json*")):
                for r in read_json(path)["rows"]:
                    if not r["split"]:
                        pts.setdefault((r["layer"], r["m"]), {}).setdefault(side, []).append(
                            (r["speedup"], r["model_speedup"], r["chosen"]))
        print(f"{name}: points that moved by more than 2% (old -> new, the mean of two runs each)")
        mean = {}
        for key, sides in sorted(pts.items(), key=lambda e: (e[0][0], e[0][1])):
            mean[key] = {s: (geo([v[0] for v in rows]), geo([v[1] for v in rows]), rows[0][2]) for s, rows in sides.items()}
            o, n = mean[key]["old"], mean[key]["new"]
            if abs(n[0] / o[0] - 1) > 0.02 or abs(n[1] / o[1] - 1) > 0.02:
                print(f"  {key[0]:<8} M={key[1]:<5} back to back {o[0]:.3f}x -> {n[0]:.3f}x   in a model {o[1]:.3f}x -> "
                      f"{n[1]:.3f}x   {o[2][:16]} -> {n[2][:16]}")
        for i, fig in enumerate(("back to back", "in a model")):
            print(f"  geomean {fig} over {len(mean)} points: {geo([m['old'][i] for m in mean.values()]):.4f}x -> "
                  f"{geo([m['new'][i] for m in mean.values()]):.4f}x")


if __name__ == "__main__":
    main()
