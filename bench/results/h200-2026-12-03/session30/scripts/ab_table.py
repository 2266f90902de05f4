"""Session 30, calls H and I: each design against its twin in the same interleaved rounds (scripts/ab_compile.py
links both into one kernels.so), from a probe run's JSON (decode_probe.json or fp8_decode_probe.json).

  python ab_table.py LOGDIR NEW_SUFFIX [BASE_SUFFIX]

Per M and output-stage width of the base design (columns stored a step under the rule before call I's change: 4
where a CTA owns 64 or more, decode_tma._outc, else 1): the median, lowest
and highest of base us / new us over the designs timed at that M, back to back, and in a model where both were
among the point's fastest timed again there. Above 1: the new build is faster."""
import collections
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
sys.path.insert(0, str(Path(__file__).resolve().parents[5]))

from results_io import read_json  # noqa: E402


def main(logd, new, base=""):
    from aotgemm.compiler.sources.decode_tma import _outc

    logd = Path(logd)
    fp8 = any((logd / n).exists() for n in ("fp8_decode_probe.json", "fp8_decode_probe.json.gz"))
    data = read_json(logd / ("fp8_decode_probe.json" if fp8 else "decode_probe.json"))
    designs = read_json(logd / "designs.json")  # the probe dir's, copied beside the run's log
    by = {(r["symbol"], r["m"]): r for r in data["rows"]}
    b2b, model = collections.defaultdict(list), collections.defaultdict(list)
    for (sym, m), r in by.items():
        if not sym.endswith(new):
            continue
        twin = by.get((sym[: -len(new)] + base, m))
        if twin is None:
            continue
        vw = "vw4" if _outc(designs[twin["symbol"]]) >= 64 else "vw1"
        b2b[(vw, m)].append(twin["us"] / r["us"])
        if r.get("model_us") and twin.get("model_us"):
            model[(vw, m)].append(twin["model_us"] / r["model_us"])
    for key in sorted(b2b):
        v, mv = sorted(b2b[key]), sorted(model[key])
        line = (f"{key[0]:>4} M={key[1]:<4} {len(v):>3} designs: base/new median {statistics.median(v):.3f} "
                f"({v[0]:.3f}-{v[-1]:.3f})")
        if mv:
            line += f"; in a model {len(mv)}: median {statistics.median(mv):.3f} ({mv[0]:.3f}-{mv[-1]:.3f})"
        print(line)


if __name__ == "__main__":
    main(*sys.argv[1:])
