"""Session 30 call G: the share of ncu's warp-state samples on the output loop of decode_tma's kernel, and the
instructions with the most samples, from the source-page CSVs (src_m*.csv.gz, one per M).

  python stall_lines.py CALLG_DIR
"""
import csv
import gzip
import io
import sys
from pathlib import Path


def main(d):
    for path in sorted(Path(d).glob("src_m*.csv.gz"), key=lambda p: -int(p.name[5:-7])):
        rows = list(csv.reader(io.TextIOWrapper(gzip.open(path), "utf-8")))
        head, data = rows[1], rows[2:]
        src, samples = head.index("Source"), head.index("Warp Stall Sampling (All Samples)")
        n = [int(r[samples] or 0) for r in data]
        text = [r[src].strip() for r in data]
        # the output loop: from the last BAR.SYNC (the partials are in) to the kernel's last EXIT
        start = max(i for i, t in enumerate(text) if t.startswith("BAR.SYNC"))
        end = max(i for i, t in enumerate(text) if t.endswith("EXIT"))
        print(f"M={path.name[5:-7]}: {sum(n)} samples, output loop {100 * sum(n[start:end + 1]) / sum(n):.1f}%")
        for i in sorted(range(len(n)), key=lambda i: -n[i])[:6]:
            print(f"  {100 * n[i] / sum(n):5.1f}%  {text[i][:80]}")


if __name__ == "__main__":
    main(sys.argv[1])
