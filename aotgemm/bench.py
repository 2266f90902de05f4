"""`aotgemm bench`: re-measure a bundle's choices against cuBLAS on the GPU at hand.

Times, for every layer x M bucket, the kernel the bundle chose (or cuBLAS
where it chose cuBLAS) and cuBLAS itself in the same run, with the method of
aotgemm.timing; prints a table, writes JSON and a PNG plot of the speedup.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from . import timing
from .bundle import CUBLAS, open_bundle
from .errors import EnvironmentMismatch, NoGpu
from .gpus import identify


def run_bench(bundle_path: Path, manifest_path: Path | None, out_dir: Path) -> dict:
    import torch
    from rich.console import Console
    from rich.table import Table

    if not torch.cuda.is_available():
        raise NoGpu("aotgemm bench needs a CUDA GPU; none is visible here")
    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    b = open_bundle(bundle_path, verify_blobs=True)
    target = b.index.target(model.name) if model else None
    if target is None:
        raise EnvironmentMismatch(f"{bundle_path} has no kernels for {props.name}; it holds "
                                  f"{', '.join(t.gpu for t in b.index.targets)}")
    layers = b.index.layers
    if manifest_path:
        from .manifest import load_manifest

        layers = load_manifest(manifest_path).layers
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    entries = {(d.dtype, d.n, d.k, d.m_bucket): d for d in target.dispatch}
    rows = []
    for layer in layers:
        for m in b.index.m_buckets:
            d = entries.get(("bfloat16", layer.n, layer.k, m))
            chosen = d.kernel if d else CUBLAS
            ops = timing.Operands(m, layer.n, layer.k, "bfloat16", props.L2_cache_size, seed=m + 7)
            cub = timing.time_call(timing.cublas_call, ops)
            if chosen == CUBLAS:
                mine = cub
            else:
                call = timing.kernel_call(mod.get_function(chosen))
                err = timing.check(call, m, layer.n, layer.k, "bfloat16", seed=m)
                if not err < timing.TOLERANCE:
                    raise EnvironmentMismatch(f"kernel {chosen} is wrong on this GPU ({layer.name}, M={m}: "
                                              f"relative error {err:.2e})")
                mine = timing.time_call(call, ops)
            del ops
            floor = timing.floor_us(m, layer.n, layer.k, model.mem_bandwidth_gbps, model.bf16_dense_tflops)
            rows.append({"layer": layer.name, "n": layer.n, "k": layer.k, "m": m, "chosen": chosen,
                         "us": round(mine.median_us, 3), "cublas_us": round(cub.median_us, 3),
                         "speedup": round(cub.median_us / mine.median_us, 4),
                         "tuned_us": d.kernel_us if d and d.kernel != CUBLAS else (d.cublas_us if d else None),
                         "floor_us": round(floor, 3), "pct_of_floor": round(100 * floor / mine.median_us, 1),
                         "spread": round(max(mine.spread, cub.spread), 4)})
    speedups = [r["speedup"] for r in rows]
    geomean = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
    summary = {"gpu": props.name, "date": date.today().isoformat(), "bundle": str(bundle_path),
               "torch": torch.__version__, "geomean_speedup": round(geomean, 4),
               "worst": min(rows, key=lambda r: r["speedup"]), "rows": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{model.name}-{Path(bundle_path).stem}"
    (out_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    table = Table(title=f"{props.name}: bundle choice vs cuBLAS (CUDA-graph medians, us)")
    for col in ("layer", "M", "chosen", "us", "cuBLAS us", "speedup", "% of floor"):
        table.add_column(col, justify="right" if col not in ("layer", "chosen") else "left")
    for r in rows:
        table.add_row(r["layer"], str(r["m"]), r["chosen"][:18], f"{r['us']:.2f}", f"{r['cublas_us']:.2f}",
                      f"{r['speedup']:.3f}", f"{r['pct_of_floor']:.0f}%")
    console = Console(width=110, record=True)
    console.print(table)
    console.print(f"geomean speedup over cuBLAS: {geomean:.3f}x over {len(rows)} layer x bucket points; worst: "
                  f"{summary['worst']['layer']} M={summary['worst']['m']} {summary['worst']['speedup']:.3f}x")
    (out_dir / f"{stem}.txt").write_text(console.export_text())
    _plot(rows, out_dir / f"{stem}.png", props.name)
    return summary


def _plot(rows: list[dict], path: Path, gpu: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for layer in dict.fromkeys(r["layer"] for r in rows):
        pts = [(r["m"], r["speedup"]) for r in rows if r["layer"] == layer]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=layer)
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("M (tokens)")
    ax.set_ylabel("speedup over cuBLAS (x)")
    ax.set_title(f"aotgemm bundle vs cuBLAS, {gpu}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
