"""Session 20, calls E and F: the GEMM kernels of an ncu_short.txt, one line each in profile order: time under ncu
(one launch, serialised), DRAM throughput, grid, registers, achieved occupancy, warp cycles per issued instruction
(where collected), and how evenly the SMs were busy (mean and fewest active cycles over the most: 100% when every
SM works until the end).  Usage: python ncu_table.py NCU_SHORT LABEL,LABEL,... > TABLE (labels of our kernels, in
profile order; cuBLAS's nvjet kernels are named by themselves). NCU_SHORT may be packed (ncu_short.txt.gz)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[5] / "bench"))
from results_io import read_text  # noqa: E402

labels = sys.argv[2].split(",")
blocks, cur = [], None
for line in read_text(sys.argv[1]).splitlines(keepends=True):
    parts = line.split()
    if line.startswith("  ") and not line.startswith("    "):
        cur = {"name": line.strip()}
        blocks.append(cur)
    elif cur is not None and parts and parts[0] not in ("INF", "WRN", "OPT"):
        cur[parts[0] if parts[0].islower() else " ".join(parts[:2])] = parts[-1].replace(",", "")
gemms = [b for b in blocks if b["name"].startswith(("kernel_cutlass", "nvjet"))]
print(f"{'kernel @ M':24s} {'us':>6s} {'DRAM %':>6s} {'grid':>6s} {'regs':>4s} {'occ %':>5s} {'cyc/issue':>9s} "
      f"{'SM busy: mean':>14s} {'fewest':>6s}")
ours = iter(labels)
for b in gemms:
    name = "  cuBLAS " + b["name"].split("(")[0][:27] if b["name"].startswith("nvjet") else next(ours)
    mx, avg, mn = (float(b[f"sm__cycles_active.{s}"]) for s in ("max", "avg", "min"))
    print(f"{name:24s} {float(b['gpu__time_duration.sum']):6.2f} "
          f"{float(b['dram__throughput.avg.pct_of_peak_sustained_elapsed']):6.1f} {b['Grid Size']:>6s} "
          f"{b['Registers Per']:>4s} {float(b['Achieved Occupancy']):5.1f} {b.get('Warp Cycles', '-'):>9s} "
          f"{100 * avg / mx:13.1f}% {100 * mn / mx:5.1f}%")
