"""Session 24: per G -> D design pair of scripts/mlp_pdl.py's JSONs (call D plain, calls E and F as in a model), the
cost of D's early PDL release (G and D as builds make them, minus G as built with D released late), the spread of
the nine variants, the baseline and the best variant. Usage: pdl_table.py (from the repository root)."""
import gzip
import json
import os

R = "bench/results/h200-2026-12-02/session24"


def variant(s):
    return "pdlx" if "_pdlx" in s else "pdl" if "_pdl" in s else "nopdl"


def base(s):
    return s.replace("_pdlx", "").replace("_pdl", "").removeprefix("aotgemm_")


print(f"{'run':8} {'M':>3} {'gate_up + SwiGLU':34} {'down + residual':34} {'D early':>8} {'range':>6} "
      f"{'base':>7} {'best':>7}")
for tag, path in [("plain D", f"{R}/callD/mlp_pdl.json"), ("model E", f"{R}/callE/mlp_pdl_model.json"),
                  ("model F", f"{R}/callF/mlp_pdl_model.json")]:
    # scripts/pack_results.py gzips the larger JSONs
    with (gzip.open(path + ".gz", "rt") if os.path.exists(path + ".gz") else open(path)) as f:
        rows = json.load(f)["rows"]
    for row in rows:
        pairs = {}
        for key, us in row["us"].items():
            if "|" in key:
                g, d = key.split("|")
                pairs.setdefault((base(g), base(d)), {})[variant(g), variant(d)] = us
        for (g, d), t in pairs.items():
            print(f"{tag:8} {row['m']:3d} {g[:34]:34} {d[:34]:34} {t['pdl', 'pdl'] - t['pdl', 'pdlx']:+8.2f} "
                  f"{max(t.values()) - min(t.values()):6.2f} {row['us']['base']:7.2f} {min(t.values()):7.2f}")
