"""Session 23, call B: ncu's PM sampling of single launches (decode_probe profile), one line per GEMM kernel and
metric: the samples from the first to the last non-zero one, DRAM read throughput (% of peak), SM active cycles
(mean per SM per sample) and CTAs launched. The sampling interval (profiler__pmsampler_interval_time) is printed
first. Usage: python pm_timeline.py RAW_CSV > pm_timeline.txt (RAW_CSV: ncu --page raw
--print-metric-instances values --csv; it may be packed, raw.csv.gz)."""
import csv
import io
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[5] / "bench"))
from results_io import read_text  # noqa: E402

rows = list(csv.reader(io.StringIO(read_text(sys.argv[1]))))
hdr = rows[0]
METRICS = {"DRAM read %": "FBSP.TriageCompute.dramc__read_throughput.avg.pct_of_peak_sustained_elapsed",
           "SM active": "TPC.TriageCompute.sm__cycles_active.avg",
           "CTAs launched": "FE_B.TriageCompute.gr__ctas_launched_realtime.sum"}


def values(cell):
    m = re.search(r"\((.*)\)", cell)
    return [float(v.replace(",", "")) for v in m.group(1).split(";")] if m else []


print("sampling interval:", rows[2][hdr.index("profiler__pmsampler_interval_time")])
for r in rows[2:]:
    name = r[hdr.index("Kernel Name")]
    if not name.startswith(("kernel_cutlass", "nvjet", "void cublasLt::splitK")):
        continue
    series = {k: values(r[hdr.index(v)]) for k, v in METRICS.items()}
    live = [i for i in range(len(series["SM active"])) if any(s[i] for s in series.values())]
    # the kernel is the longest run of consecutive live samples (a lone early one is the profiler's own traffic)
    runs, start = [], None
    for i in range(len(series["SM active"]) + 1):
        on = i in live
        if on and start is None:
            start = i
        if not on and start is not None:
            runs.append((start, i))
            start = None
    lo, hi = max(runs, key=lambda r: r[1] - r[0]) if runs else (0, 0)
    print(f"{r[hdr.index('ID')]:>3} {name[:60]} grid {r[hdr.index('Grid Size')]}, "
          f"{float(r[hdr.index('gpu__time_duration.sum')]):.2f} us")
    for k, s in series.items():
        print(f"      {k:14s}" + " ".join(f"{v:5.0f}" for v in s[lo:hi]))
