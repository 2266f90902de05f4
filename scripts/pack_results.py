"""Keep the committed benchmark results small: gzip every text result under bench/results over its PACK_BYTES.

A GPU call (the device tool) carries the whole tracked tree, plus the wheels and bundles it needs, within 64 MiB;
the results of twenty sessions had grown to 54 MiB of it, 19 MiB of that JSON, logs and ncu tables that gzip to a
seventh. This replaces each such FILE by FILE.gz (deterministic: no name or time in the header, so a repack is
byte-identical), written to a temporary file and renamed (aotgemm's `atomic_write_bytes`, which removes the
temporary file if the write fails). `bench.results_io.read_json` and `zcat` read them. Plots (PNG) are kept as
PNG, with their pixels put on a palette (`aotgemm.bench.compact_png`, as `aotgemm bench` now writes them): 385
plots had taken 25 of the tree's 48 MiB.
Data that scripts read (JSON, JSONL, CSV) is packed from 8 KB, tables that people read (.txt, .log: `aotgemm bench`'s
tables, probe summaries) from 30 KB, so that most of those stay readable where the results are browsed: at 46.5 of the
budget's 48 MiB (session 39) a GPU call could no longer carry a probe's kernels beside the wheels and bundles, and the
data files of 8-30 KB held 6 MiB that gzip to about one.
tests/test_results_size.py checks that nothing over its PACK_BYTES is left unpacked and that the tree stays under
TREE_BUDGET_MIB.

    python scripts/pack_results.py [--check]     # from the repository root; --check: list, change nothing
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

from aotgemm.bundle.io import atomic_write_bytes

RESULTS = "bench/results"
# text results larger than this, by suffix, are stored gzipped
PACK_BYTES = {".json": 8_000, ".jsonl": 8_000, ".csv": 8_000, ".txt": 30_000, ".log": 30_000}
# the tracked tree's share of a device call's 64 MiB; the rest is for wheels (12 MiB with torchao's) and bundles or kernels
TREE_BUDGET_MIB = 48


def tracked(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / p for p in out.decode().split("\0") if p]


def to_pack(root: Path) -> list[Path]:
    """Tracked text results over their PACK_BYTES that are not packed yet."""
    return [p for p in tracked(root) if p.is_relative_to(root / RESULTS) and p.suffix in PACK_BYTES
            and p.exists() and p.stat().st_size > PACK_BYTES[p.suffix]]


def plots_to_compact(root: Path) -> list[Path]:
    """Tracked result plots not on a palette yet (an RGBA PNG's colour type byte is 6; a palette one's 3)."""
    return [p for p in tracked(root) if p.is_relative_to(root / RESULTS) and p.suffix == ".png" and p.exists()
            and p.read_bytes()[25] != 3]


def compact_plot(path: Path) -> Path:
    from aotgemm.bench import compact_png

    atomic_write_bytes(path, compact_png(path.read_bytes()))
    return path


def gzipped(data: bytes) -> bytes:
    """`data` gzipped with no name or time in the header (gzip.compress would write another OS byte than the
    GzipFile that packed the committed results, and so change every one of them on a repack)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def pack(path: Path) -> Path:
    """Replace `path` by `path`.gz; the original goes only once its packed copy is complete under its name."""
    dst = path.with_name(path.name + ".gz")
    atomic_write_bytes(dst, gzipped(path.read_bytes()))
    path.unlink()
    return dst


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    todo = to_pack(root)
    for p in todo:
        print(p.relative_to(root) if "--check" in argv else pack(p).relative_to(root))
    plots = plots_to_compact(root)
    for p in plots:
        print(p.relative_to(root) if "--check" in argv else compact_plot(p).relative_to(root))
    return 1 if (todo or plots) and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
