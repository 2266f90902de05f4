"""`aotgemm bench`: re-measure a bundle's choices against cuBLAS on the GPU at hand.

For fp8 problems the stock path is `torch._scaled_mm` (cuBLASLt; the row-wise
form for scale_row), not cuBLAS's mm: their rows' "cuBLAS" columns time it
(`timing.baseline_name` says so), and their floor counts 1 byte per element of
x and W and twice the bf16 peak (`timing.floor_for`).

Times, for every layer x M bucket, the kernel the bundle chose (or cuBLAS
where it chose cuBLAS), and where the tuner split a bucket (DispatchEntry.min_m)
also at the lowest M its kernel serves ("split" rows: in the worst point, not in
the geomeans, which stay over the buckets' M), and cuBLAS itself (for a fused epilogue, cuBLAS plus
the epilogue as Inductor runs it: `timing.baseline_name`, in each row) in
interleaved rounds of the same run (aotgemm.timing; three times as many where
they spread wide, `WIDE_SPREAD`), twice: alone, and each GEMM right after a small kernel
that writes its input, as in a model (a gain that only shows alone does not
count). With `pdl_writer`, a third time: after that writer as Inductor compiles
it with its programmatic dependent launch on (timing.PDL_WRITER), against the
baseline compiled the same way: what a model compiled with
TORCHINDUCTOR_ENABLE_PDL=1 runs. Prints a table, writes JSON and a PNG plot of
the speedup, and ceilings: a kernel at each point's floor, and one at the floor
that also pays a launch, timed in the same run (timing.launch_floor_us); then
the same at the fastest read of a weight seen on this GPU model
(GpuModel.measured_read_gbps) or in this run, which a GEMM can reach and a
copy cannot: the ones no kernel passes (`summarize_rows`).
"""

from __future__ import annotations

import io
import json
import math
from datetime import date
from pathlib import Path

from . import timing
from .bundle import CUBLAS
from .bundle.io import atomic_write_bytes
from .errors import EnvironmentMismatch, NoGpu
from .gpu_clocks import ClockWatch, describe as describe_clocks, device_uuid


# A point whose trials spread wider than WIDE_SPREAD ((p90 - p10) / median, either side) gets EXTRA_BATCHES more
# batches of `trials` rounds, and its medians are taken over all of them. At M = 4096-8192 the rounds of large
# GEMMs spread 10-17% (the clocks move under sustained compute-bound work), and 15 of them left the median ratio
# 3-6% apart between two timings of the same kernel at the same point in one run: Qwen2.5-32B TP4's qkv at
# M = 4096, 0.987x and 1.051x back to back (H200, session 21, call B). Three times the rounds shrink that noise
# by about 1.7x; below M = 1024 the spread is 0.3-3% and nothing changes.
WIDE_SPREAD = 0.05
EXTRA_BATCHES = 2


def _measure(call_kernel, call_cublas, ops, reps: int, trials: int, model: bool,
             writer_kind: str = timing.COPY_WRITER) -> timing.Comparison:
    kw = {"reps": reps, "model": model, "writer_kind": writer_kind}
    # Where the bundle chose cuBLAS, what runs is the baseline's own call, timed once; its ratio is 1 by
    # construction (timing the call against itself measured only noise: 0.988x at one point).
    timers = {} if call_kernel is call_cublas else {"k": timing.GraphTimer(call_kernel, ops, **kw)}
    timers["c"] = timing.GraphTimer(call_cublas, ops, **kw)
    s = timing.interleaved(timers, trials, warmup=timing.WARMUP_ROUNDS)
    c = timing.compare(s.get("k", s["c"]), s["c"])
    if "k" in timers and max(c.kernel.spread, c.cublas.spread) > WIDE_SPREAD:
        for _ in range(EXTRA_BATCHES):
            for name, samples in timing.interleaved(timers, trials).items():
                s[name] += samples
        c = timing.compare(s["k"], s["c"])
    return c


def bench_points(entry, m_buckets: tuple[int, ...]) -> list[tuple[int, int]]:
    """The (M, bucket) points `aotgemm bench` times for one layer: each bucket's M, and where the tuner split a
    bucket (DispatchEntry.min_m below the bucket's M) the lowest M its kernel serves. `entry(bucket)` is the
    layer's dispatch entry there, or None. A kernel that serves only its bucket's M (min_m equal to it) adds no
    point: that M was timed twice before, and counted twice in the geomeans."""
    points = []
    for bucket in m_buckets:
        d = entry(bucket)
        points.append((bucket, bucket))
        if d and d.min_m and d.min_m < bucket and d.kernel != CUBLAS:
            points.append((d.min_m, bucket))
    return points


def run_bench(bundle_path: Path, manifest_path: Path | None, out_dir: Path, *, trials: int = 15,
              pdl_writer: bool = False) -> dict:
    """Time each layer x bucket's chosen kernel against cuBLAS, plain and after an x-writing kernel (and,
    with `pdl_writer`, after that kernel compiled by Inductor with PDL on)."""
    import torch
    from rich.console import Console
    from rich.table import Table

    if not torch.cuda.is_available():
        raise NoGpu("aotgemm bench needs a CUDA GPU; none is visible here")
    props, model, b, target = timing.open_for_gpu(bundle_path)
    layers = b.index.layers
    if manifest_path:
        from .manifest import load_manifest

        layers = load_manifest(manifest_path).layers
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    entries = {d.key: d for d in target.dispatch}
    kernels = {k.symbol: k for k in target.kernels}
    timing.warm_up()
    launch_us = timing.launch_floor_us()
    rows = []
    # the clocks while timing: large GEMMs run power-capped, at clocks that differ between machines (gpu_clocks)
    with ClockWatch(device_uuid(torch, torch.cuda.current_device())) as clocks:
        for dtype in sorted({d.dtype for d in target.dispatch}):
            for layer in layers:
                problem = layer.problem(dtype)  # an fp8 layer's takes the scale epilogue of its scales
                cublas = timing.cublas_call(problem)
                cublas_pdl = timing.cublas_call(problem, pdl=True) if pdl_writer else None
                points = bench_points(lambda bucket: entries.get(problem.key + (bucket,)), b.index.m_buckets)
                for m, bucket in points:
                    d = entries.get(problem.key + (bucket,))
                    chosen = d.kernel if d else CUBLAS
                    call, call_pdl = cublas, cublas_pdl
                    if chosen != CUBLAS:
                        call = call_pdl = timing.kernel_call(mod.get_function(chosen), problem)
                        err = max(timing.check(call, problem, mm, seed=mm) for mm in {m, max(1, m - 1)}
                                  if kernels[chosen].serves(mm))
                        if not err < timing.TOLERANCE:
                            raise EnvironmentMismatch(f"kernel {chosen} is wrong on this GPU ({layer.name}, M={m}: "
                                                      f"relative error {err:.2e})")
                    ops = timing.Operands(problem, m, props.L2_cache_size, seed=m + 7)
                    reps = timing.reps_for(problem, m)
                    plain = _measure(call, cublas, ops, reps, trials, model=False)
                    in_model = _measure(call, cublas, ops, reps, trials, model=True)
                    pdl = _measure(call_pdl, cublas_pdl, ops, reps, trials, model=True,
                                   writer_kind=timing.PDL_WRITER) if pdl_writer else None
                    del ops
                    floor = timing.floor_for(problem, m, model.floor_bandwidth_gbps, model.floor_tflops)
                    rows.append({
                        "layer": layer.name, "dtype": dtype, "epilogue": problem.epilogue, "n": layer.n, "k": layer.k,
                        "m": m, "baseline": timing.baseline_name(problem), "chosen": chosen,
                        # split: M is the lowest of its bucket the kernel serves (DispatchEntry.min_m), not the bucket's
                        "split": m != bucket,
                        "source": kernels[chosen].source if chosen != CUBLAS else CUBLAS,
                        "us": round(plain.kernel.median_us, 3), "cublas_us": round(plain.cublas.median_us, 3),
                        "speedup": round(plain.ratio_median, 4),
                        "model_us": round(in_model.kernel.median_us, 3),
                        "model_cublas_us": round(in_model.cublas.median_us, 3),
                        "model_speedup": round(in_model.ratio_median, 4),
                        "tuned_us": d.kernel_us if d and d.kernel != CUBLAS else (d.cublas_us if d else None),
                        "floor_us": round(floor, 3), "pct_of_floor": round(100 * floor / plain.kernel.median_us, 1),
                        "spread": round(max(plain.kernel.spread, plain.cublas.spread), 4),
                        "rounds": plain.cublas.trials, "model_rounds": in_model.cublas.trials})
                    if pdl:
                        rows[-1].update(pdl_model_us=round(pdl.kernel.median_us, 3),
                                        pdl_model_cublas_us=round(pdl.cublas.median_us, 3),
                                        pdl_model_speedup=round(pdl.ratio_median, 4),
                                        pdl_model_spread=round(max(pdl.kernel.spread, pdl.cublas.spread), 4))
    summary = {"gpu": props.name, "date": date.today().isoformat(), "bundle": str(bundle_path),
               "torch": torch.__version__, "trials": trials,
               **summarize_rows(rows, launch_us, pdl_writer, model.read_over_copy), "gpu_clocks": clocks.summary}
    rows_all, rows = rows, [r for r in rows if not r["split"]]
    splits = [r for r in rows_all if r["split"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{model.name}-{Path(bundle_path).stem}"
    (out_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    table = Table(title=f"{props.name}: bundle choice vs cuBLAS ({trials} interleaved CUDA-graph rounds, "
                        f"{trials * (1 + EXTRA_BATCHES)} where they spread over {WIDE_SPREAD:.0%}; medians, us)")
    cols = ["layer", "M", "chosen", "us", "cuBLAS", "x", "in model x"] + (["PDL model x"] if pdl_writer else [])
    for col in cols + ["% floor", "spread"]:
        table.add_column(col, justify="right" if col not in ("layer", "chosen") else "left")
    for r in rows_all:
        name = r["chosen"] if r["chosen"] == CUBLAS else f"{r['source']}:{r['chosen'][8:16]}"
        pdl_cell = [f"{r['pdl_model_speedup']:.3f}"] if pdl_writer else []
        table.add_row(r["layer"], f"{r['m']}" + (" split" if r["split"] else ""), name, f"{r['us']:.2f}", f"{r['cublas_us']:.2f}",
                      f"{r['speedup']:.3f}", f"{r['model_speedup']:.3f}", *pdl_cell, f"{r['pct_of_floor']:.0f}%",
                      f"{100 * r['spread']:.1f}%")
    console = Console(width=120, record=True)
    console.print(table)
    for name in sorted({r["baseline"] for r in rows} - {timing.CUBLAS_BASELINE}):
        console.print(f"baseline of the {', '.join(sorted({r['epilogue'] for r in rows if r['baseline'] == name}))} "
                      f"layers: {name}")
    w, wm = summary["worst"], summary["worst_model"]
    over_splits = f", of {len(rows_all)} points with the {len(splits)} where a split bucket begins" if splits else ""
    console.print(f"geomean over cuBLAS: {summary['geomean_speedup']:.3f}x over {len(rows)} points "
                  f"({summary['geomean_speedup_m_le_16']:.3f}x at M<=16); in a model (x written just before): "
                  f"{summary['geomean_model_speedup']:.3f}x ({summary['geomean_model_speedup_m_le_16']:.3f}x at "
                  f"M<=16); worst {w['layer']} M={w['m']} {w['speedup']:.3f}x (in a model: {wm['layer']} "
                  f"M={wm['m']} {wm['model_speedup']:.3f}x{over_splits}); lowest % of floor at M<=16: "
                  f"{summary['min_pct_of_floor_m_le_16']}%")
    console.print(f"ceilings: a kernel at the floor everywhere would reach {summary['ceiling_speedup']:.3f}x "
                  f"({summary['ceiling_speedup_m_le_16']:.3f}x at M<=16); one that also pays a launch "
                  f"({launch_us:.2f} us here: a 256-byte copy kernel in the same kind of CUDA graph) "
                  f"{summary['ceiling_launch_speedup']:.3f}x ({summary['ceiling_launch_speedup_m_le_16']:.3f}x at "
                  f"M<=16), and at M<=16 at best {summary['max_pct_of_floor_m_le_16']}% of the floor on the "
                  f"smallest weight; at the fastest read of a weight seen ({summary['read_over_copy']:.0%} of "
                  f"the floor's rate: a GEMM only reads), the ceilings no kernel passes: "
                  f"{summary['ceiling_read_speedup']:.3f}x ({summary['ceiling_read_speedup_m_le_16']:.3f}x at "
                  f"M<=16), with a launch {summary['ceiling_read_launch_speedup']:.3f}x "
                  f"({summary['ceiling_read_launch_speedup_m_le_16']:.3f}x at M<=16)")
    if pdl_writer:
        wp = summary["worst_pdl_model"]
        console.print(f"in a model compiled with Inductor's PDL (x written by its PDL kernel just before; the "
                      f"baseline's epilogues compiled with PDL too): {summary['geomean_pdl_model_speedup']:.3f}x "
                      f"({summary['geomean_pdl_model_speedup_m_le_16']:.3f}x at M<=16); worst {wp['layer']} "
                      f"M={wp['m']} {wp['pdl_model_speedup']:.3f}x")
    console.print(describe_clocks(clocks.summary, "benchmarking"))
    (out_dir / f"{stem}.txt").write_text(console.export_text())
    try:
        _plot(rows, out_dir / f"{stem}.png", props.name)
    except ImportError:  # matplotlib is the [bench] extra; the table and JSON stand without it
        pass
    return summary


def _geo(xs):
    return round(math.exp(sum(math.log(x) for x in xs) / len(xs)), 4) if xs else None


def _ceiling(rows: list[dict], read: float = 1.0, launch_us: float = 0.0) -> float | None:
    """The geomean speedup over the baseline of a kernel that reads each point's floor bytes at `read` times the
    floor's copy rate and pays `launch_us` more."""
    return _geo([r["cublas_us"] / (r["floor_us"] / read + launch_us) for r in rows])


def summarize_rows(rows_all: list[dict], launch_us: float, pdl_writer: bool = False,
                   read_over_copy: float = 1.0) -> dict:
    """The summary of a bench's rows: geomeans over the buckets' M (the same points with or without splits),
    the worst over every point, and the ceilings any kernel of this bundle's kind could reach over the
    baseline: one at the floor, and one at the floor plus `launch_us` (timing.launch_floor_us), a kernel
    launch that a GEMM run as one kernel pays too. The floor is a copy's rate, which reads and writes; a GEMM
    only reads, and our kernels streamed large weights at up to 109% of it. So the same two ceilings again at
    the fastest read known: `read_over_copy` times the copy rate (GpuModel.read_over_copy), or the best % of
    the floor a point of this run reached, where that is higher. Those are the ones no kernel passes."""
    rows = [r for r in rows_all if not r["split"]]
    small = [r for r in rows if r["m"] <= 16]
    read = max(1.0, read_over_copy, max((r["pct_of_floor"] / 100 for r in rows_all), default=1.0))
    out = {"geomean_speedup": _geo([r["speedup"] for r in rows]),
           "geomean_speedup_m_le_16": _geo([r["speedup"] for r in small]),
           "geomean_model_speedup": _geo([r["model_speedup"] for r in rows]),
           "geomean_model_speedup_m_le_16": _geo([r["model_speedup"] for r in small]),
           "min_pct_of_floor_m_le_16": min((r["pct_of_floor"] for r in small), default=None),
           # what a kernel running at the floor would reach over the baseline: the most any speedup target
           # can ask for (cuBLAS already at 97% of the floor leaves at most 1.03x there)
           "ceiling_speedup": _ceiling(rows),
           "ceiling_speedup_m_le_16": _ceiling(small),
           # ... and one that also pays a launch: on a 13 MB weight (3.1 us of bytes) a 1 us launch alone
           # caps it at 76% of the floor
           "launch_floor_us": round(launch_us, 3),
           "ceiling_launch_speedup": _ceiling(rows, launch_us=launch_us),
           "ceiling_launch_speedup_m_le_16": _ceiling(small, launch_us=launch_us),
           "max_pct_of_floor_m_le_16": min((round(100 * r["floor_us"] / (r["floor_us"] + launch_us), 1)
                                            for r in small), default=None),
           "read_over_copy": round(read, 4),
           "ceiling_read_speedup": _ceiling(rows, read),
           "ceiling_read_speedup_m_le_16": _ceiling(small, read),
           "ceiling_read_launch_speedup": _ceiling(rows, read, launch_us),
           "ceiling_read_launch_speedup_m_le_16": _ceiling(small, read, launch_us),
           "splits": len(rows_all) - len(rows),
           "worst": min(rows_all, key=lambda r: r["speedup"]),
           "worst_model": min(rows_all, key=lambda r: r["model_speedup"]), "rows": rows_all}
    if pdl_writer:
        out.update(geomean_pdl_model_speedup=_geo([r["pdl_model_speedup"] for r in rows]),
                   geomean_pdl_model_speedup_m_le_16=_geo([r["pdl_model_speedup"] for r in small]),
                   worst_pdl_model=min(rows_all, key=lambda r: r["pdl_model_speedup"]))
    return out


def _plot(rows: list[dict], path: Path, gpu: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for layer in dict.fromkeys(r["layer"] for r in rows):
        pts = [(r["m"], r["model_speedup"]) for r in rows if r["layer"] == layer]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=layer)
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("M (tokens)")
    ax.set_ylabel("speedup over cuBLAS, in a model (x)")
    ax.set_title(f"aotgemm bundle vs cuBLAS, {gpu}")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, compact_png(buf.getvalue()))


PLOT_COLORS = 64


def compact_png(png: bytes) -> bytes:
    """`png` with its pixels on a palette of PLOT_COLORS colours, optimised: a bench plot is a few lines of a
    few colours, and matplotlib's RGBA file of one (86 KB) then takes 20 KB. The committed results are carried by
    every GPU call (scripts/pack_results.py). Needs Pillow, which matplotlib brings."""
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=PLOT_COLORS).save(out, format="PNG", optimize=True)
    return out.getvalue()
