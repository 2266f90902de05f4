"""`aotgemm inspect`: what a bundle holds, as tables (rich) or as JSON.

Nothing here checks anything: `open_bundle` has validated the bundle before
these functions see it (the CLI verifies every blob too, unless --no-verify). Every string from the bundle is printed as plain
text (rich `Text`), never parsed as markup.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .bundle.format import CUBLAS, DispatchEntry, Kernel, Target
from .bundle.io import BundleFile
from .errors import UnsupportedProblem
from .problem import SCALED_DTYPES, epilogue_for, output_dtype

DEFAULT_WIDTH = 120  # when not printing to a terminal


def bundle_json(b: BundleFile) -> dict[str, Any]:
    """The index as a JSON-able dict (the same keys and values as in the file), plus a `file` key.

    `file` describes where things sit: the path, the file size, the offset of
    the data section and, per blob, its offset in the file and its stored and
    uncompressed sizes.
    """
    out = b.index.to_obj()
    out["file"] = {
        "path": str(b.path),
        "size": _file_size(b),
        "data_offset": b.data_offset,
        "blobs": {
            blob.name: {"offset": b.data_offset + b.offsets[blob.name], "stored_size": blob.stored_size,
                        "size": blob.size}
            for blob in b.index.blobs
        },
    }
    return out


def _file_size(b: BundleFile) -> int:
    # The index was validated against the file's size: the blobs tile the rest exactly.
    return b.data_offset + sum(blob.stored_size for blob in b.index.blobs)


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _dims(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "x".join(str(x) for x in v)
    return str(v)


def kernel_short(k: Kernel) -> str:
    """Where the kernel came from and what it is: `cutlass_operators 128x256 c2x1`, `aotgemm swapab_rf m<=16`."""
    d = k.design_dict
    parts = [k.source]
    if "tile" in d:
        parts.append(_dims(d["tile"]))
    if "cluster" in d:
        parts.append("c" + _dims(d["cluster"]))
    if len(parts) == 1:
        parts.append(k.family.removeprefix("decode_"))
    if k.max_m:
        parts.append(f"m<={k.max_m}")
    return " ".join(parts)


def speedup(e: DispatchEntry) -> float | None:
    """cuBLAS time over kernel time, for tuned entries with both numbers."""
    if e.kernel_us is None or e.cublas_us is None or e.kernel_us <= 0:
        return None
    return e.cublas_us / e.kernel_us


def entry_key(layer, dtype: str, layout: str, m: int) -> tuple | None:
    """The dispatch key of `layer` in `dtype` at bucket `m`: its problem's key (an fp8 layer's problem takes
    the scale epilogue of its scales) plus the bucket; None when the layer has no such problem."""
    try:
        epi = epilogue_for(dtype, layer.epilogue, layer.scales)
    except UnsupportedProblem:
        return None
    return (dtype, layout, epi, layer.n, layer.k, m)


def dispatch_grid(t: Target, layers, m_buckets, dtype: str, layout: str) -> list[list[str | None]]:
    # Layers carry their epilogue; the dispatch key is the layer's problem plus the bucket.
    """Per layer, per M bucket: the short name of the chosen kernel (with `M>=min_m` where the tuner split the
    bucket: cuBLAS below), `cublas`, or None (no entry)."""
    kernels = {k.symbol: k for k in t.kernels}
    entries = {d.key: d for d in t.dispatch}
    grid = []
    for layer in layers:
        row = []
        for m in m_buckets:
            e = entries.get(entry_key(layer, dtype, layout, m))
            row.append(None if e is None else CUBLAS if e.kernel == CUBLAS else
                       kernel_short(kernels[e.kernel]) + (f" M>={e.min_m}" if e.min_m else ""))
        grid.append(row)
    return grid


def _console(console=None):
    from rich.console import Console

    if console is not None:
        return console
    out = sys.stdout
    tty = hasattr(out, "isatty") and out.isatty()
    width = None if tty or os.environ.get("COLUMNS") else DEFAULT_WIDTH
    return Console(file=out, width=width, highlight=False, soft_wrap=False)


def render_bundle(b: BundleFile, console=None) -> None:
    """Print a summary, the targets, the kernels and, per target, the layer x M-bucket dispatch grid."""
    from rich.table import Table
    from rich.text import Text

    con = _console(console)
    idx = b.index
    T = Text  # every bundle string goes through Text: '[bold]' in a layer name stays '[bold]'

    con.print(T.assemble(("model ", "bold"), idx.model))
    size = _file_size(b)
    con.print(T(f"format v{idx.format_version}, written by {idx.generator}, {size} bytes ({human_size(size)})"))
    con.print(T(f"{len(idx.layers)} layer(s), M buckets: {', '.join(map(str, idx.m_buckets))}"))
    dtypes = sorted({d.dtype for t in idx.targets for d in t.dispatch})
    if dtypes:
        con.print(T("dtypes: " + ", ".join(_dtype_label(d, idx.layers) for d in dtypes)))
    con.print()

    targets = Table(title="Targets", title_justify="left")
    for col in ("GPU", "arch", "SMs", "kernels", "library", "stored / size", "compiler", "sources", "link mode",
                "tuned on"):
        targets.add_column(col, overflow="fold")
    blobs = {blob.name: blob for blob in idx.blobs}
    for t in idx.targets:
        lib = blobs[t.library]
        env = t.env
        targets.add_row(T(t.gpu), T(t.arch), str(t.sm_count), str(len(t.kernels)), T(t.library),
                        f"{human_size(lib.stored_size)} / {human_size(lib.size)}",
                        T(str(env.get("compiler"))), T("\n".join(f"{n}: {v}" for n, v in t.sources)),
                        T(str(env.get("link_mode"))),
                        T("untuned" if env.get("tuned_on") is None else
                          f"{env['tuned_on']}\n{env.get('tuned_at')}, driver {env.get('tuned_driver')}"))
    con.print(targets)

    kernels = Table(title="Kernels", title_justify="left")
    for col in ("GPU", "symbol", "source", "family", "tile", "cluster", "max M", "dtype", "epilogue"):
        kernels.add_column(col, overflow="fold")
    for t in idx.targets:
        for k in t.kernels:
            d = k.design_dict
            kernels.add_row(T(t.gpu), T(k.symbol), T(k.source), T(k.family),
                            T(_dims(d["tile"]) if "tile" in d else "-"),
                            T(_dims(d["cluster"]) if "cluster" in d else "-"), str(k.max_m or "any"), T(k.dtype),
                            T(k.epilogue))
    con.print(kernels)

    for t in idx.targets:
        kinds = sorted({(d.dtype, d.layout) for d in t.dispatch})
        if not kinds:
            con.print(T(f"{t.gpu}: no dispatch entries (every GEMM goes to cuBLAS)"))
            continue
        for dtype, layout in kinds:
            _print_grid(con, t, idx.layers, idx.m_buckets, dtype, layout)


MAX_LAYER_WIDTH = 40


def _dtype_label(dtype: str, layers) -> str:
    """`bfloat16`, or for fp8 its output dtype and the layers' scales: `float8_e4m3fn -> bfloat16, scales row`."""
    if dtype not in SCALED_DTYPES:
        return dtype
    scales = sorted({x.scales for x in layers if x.scales is not None})
    return f"{dtype} -> {output_dtype(dtype)}, scales {'/'.join(scales) or '?'}"


def _print_grid(con, t: Target, layers, m_buckets, dtype: str, layout: str) -> None:
    """The layer x M-bucket grid of one target, split into several tables if the buckets don't fit the width."""
    from rich.table import Table
    from rich.text import Text

    grid = dispatch_grid(t, layers, m_buckets, dtype, layout)
    entries = {d.key: d for d in t.dispatch}
    columns = []  # per bucket: header, cells
    for j, m in enumerate(m_buckets):
        cells = []
        for layer, row in zip(layers, grid):
            cell = row[j]
            if cell is None:
                cells.append(Text("-"))
                continue
            text = Text(cell)
            s = speedup(entries[entry_key(layer, dtype, layout, m)])
            if s is not None:
                text.append(f"\n{s:.2f}x", style="green" if s >= 1.0 else "red")
            cells.append(text)
        columns.append((f"M≤{m}", cells))
    labels = [Text.assemble(layer.name, "\n", (f"{layer.n}×{layer.k}", "dim")) for layer in layers]

    def width(texts) -> int:
        return max((len(line) for x in texts for line in x.plain.split("\n")), default=1)

    # A table is 1 border column plus, per column, its width, 2 of padding and 1 border.
    label_w = min(MAX_LAYER_WIDTH, max(width(labels), len("layer")))
    room = max(con.width - 1 - (label_w + 3), 1)
    chunks, chunk, used = [], [], 0
    for header, cells in columns:
        w = max(width(cells), len(header)) + 3
        if chunk and used + w > room:
            chunks.append(chunk)
            chunk, used = [], 0
        chunk.append((header, cells))
        used += w
    chunks.append(chunk)

    con.print(Text(f"{t.gpu} dispatch ({_dtype_label(dtype, layers)}, {layout}): kernel per layer and M bucket",
                   style="bold"))
    for chunk in chunks:
        table = Table(show_lines=True)
        table.add_column("layer", overflow="fold", max_width=MAX_LAYER_WIDTH)
        for header, _ in chunk:
            table.add_column(header, overflow="fold")
        for r, label in enumerate(labels):
            table.add_row(label, *(cells[r] for _, cells in chunk))
        con.print(table)
    con.print(Text("cell: the kernel's source and design (tile, cluster, or its family and largest M) or cublas; "
                   "under it cuBLAS time / kernel time where tuned; -: no entry (cuBLAS fallback)", style="dim"))
