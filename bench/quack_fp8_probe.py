"""quack's Hopper GEMM on fp8 e4m3 (the `quack` source's dequantizing epilogue) against torch._scaled_mm at large M.

    python bench/quack_fp8_probe.py compile DIR          # CPU, with quack-kernels and the CuTe DSL: sm_90a objects
    python bench/quack_fp8_probe.py run DIR [--log DIR]  # the H200: needs torch and tvm_ffi only

The `quack` source builds fp8 kernels with slow accumulation (the numerics of `_scaled_mm`'s default,
use_fast_accum=False). Session 8 ran this probe when the source's sm_90a fp8 designs were its 16-bit tiles, which
spill when they promote (0.17-0.30x of `_scaled_mm`); since session 33 they are the three that do not
(quack.SM90_FP8_DESIGNS, promoting every 2 k tiles; bench/fp8_promote_probe.py compares the kinds). It compiles each
sm_90a fp8 design of the source (quack.specs) twice, with slow and with fast
accumulation, links them into one library and, on the GPU, times them (CUDA graphs over L2-rotated operands,
interleaved rounds, medians and p10-p90 spread, aotgemm.timing) against `_scaled_mm` with use_fast_accum False
and True, per-tensor scales, at M = 256, 1024, 4096 on the Llama-3.1-8B fp8 layers. Each kernel is first checked
against the float32 reference on the dequantized operands (fresh random data, output poisoned with NaN).
Prints a table last; with --log also writes it and the JSON there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHAPES = ((6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336))  # Llama-3.1-8B qkv, o, gate_up, down
MS = (256, 1024, 4096)
ACCUM = {"slow": False, "fast": True}


def compile_main(outdir: str) -> None:
    from aotgemm.compiler.sources import get_source
    from aotgemm.compiler.sources.quack import specs
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    src, out = get_source("quack"), Path(outdir)
    (out / "obj").mkdir(parents=True, exist_ok=True)
    problem = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", *SHAPES[0])
    table = {}
    for i, spec in enumerate(specs(problem, gpu_model("H200_SXM"))):  # the source itself offers none on sm_90a
        for accum, fast in ACCUM.items():
            symbol = f"quack_fp8_{i}_{accum}"
            spec_fast = dataclasses.replace(spec, design=json.dumps({**spec.design_dict, "fp8_fast_accum": fast}))
            t = time.time()
            src.compile(spec_fast, symbol, str(out / "obj" / f"{symbol}.o"))
            table[symbol] = {"design": spec.design_dict, "accum": accum}
            print(f"{symbol} {spec.design_dict['tile']} {spec.design_dict['cluster']} "
                  f"{'pingpong' if spec.design_dict['pingpong'] else 'cooperative'} {accum}: {time.time() - t:.1f} s",
                  flush=True)
    link_probe(out, table)


def link_probe(out: Path, table: dict) -> None:
    """Link out/obj/SYMBOL.o for every symbol of `table` into out/kernels.so; the table goes to out/designs.json.
    (bench/fp8_promote_probe.py builds its kernels the same way.)"""
    from aotgemm.compiler.link import link_library

    lib = link_library({s: out / "obj" / f"{s}.o" for s in table}, link_mode="static-runtime", cuda_major=13)
    (out / "kernels.so").write_bytes(lib)
    (out / "designs.json").write_text(json.dumps(table, indent=1))


def open_probe(outdir: str, name: str):
    """On the GPU: (designs table, loaded kernel library, device properties, header line) of a linked probe
    directory, the header printed and the clocks warmed up."""
    import torch

    from aotgemm import timing

    d = Path(outdir)
    table = json.loads((d / "designs.json").read_text())
    mod = timing.load_kernel_library((d / "kernels.so").read_bytes(), "static-runtime")
    props = torch.cuda.get_device_properties(0)
    header = (f"# {name} on {props.name} ({props.multi_processor_count} SMs), "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, torch {torch.__version__}")
    print(header, flush=True)
    timing.warm_up(1.0)
    return table, mod, props, header


def checked_calls(mod, symbols, problem, m: int, bad: list[str]) -> dict:
    """symbol -> timing call of each of `symbols` in the loaded library `mod` whose output at M matches the float32
    reference (timing.check: fresh operands, output poisoned; relative error under 1e-2); each other one is appended
    to `bad` with its error, and left out. (bench/fp8_promote_probe.py and quack_tile_probe.py check the same way.)"""
    from aotgemm import timing

    calls = {}
    for s in symbols:
        call = timing.kernel_call(mod.get_function(s), problem)
        err = timing.check(call, problem, m, seed=m + problem.n)
        if err < 1e-2:
            calls[s] = call
        else:
            bad.append(f"{s} {problem.n}x{problem.k} M={m}: rel. error {err:.2e}")
    return calls


def scaled_mm_call(fast: bool):
    """torch._scaled_mm with per-tensor scales and bf16 out, in the timing call form, in either accumulation mode."""
    import torch

    def call(x, w, out, e):
        torch._scaled_mm(x, w.t(), e["scale_a"], e["scale_b"], out_dtype=torch.bfloat16, out=out, use_fast_accum=fast)
    return call


def run_main(outdir: str, log: str | None) -> None:
    import torch

    from aotgemm import timing
    from aotgemm.problem import GemmProblem

    table, mod, props, header = open_probe(outdir, "quack_fp8_probe")
    l2 = props.L2_cache_size
    rows, bad = [], []
    for n, k in SHAPES:
        problem = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", n, k)
        for m in MS:
            calls = checked_calls(mod, table, problem, m, bad)

            calls["_scaled_mm slow"], calls["_scaled_mm fast"] = scaled_mm_call(False), scaled_mm_call(True)
            ops = timing.Operands(problem, m, l2, seed=m)
            reps = timing.reps_for(problem, m)
            # a first pass of 5 rounds picks each accumulation's best design; then 15 rounds for those and both
            # _scaled_mm modes, interleaved
            first = timing.interleaved({s: timing.GraphTimer(c, ops, reps=reps) for s, c in calls.items()}, 5)
            med = {s: sorted(v)[len(v) // 2] for s, v in first.items()}
            best = {a: min((s for s in table if table[s]["accum"] == a and s in med), key=med.get) for a in ACCUM}
            final = {s: calls[s] for s in (*best.values(), "_scaled_mm slow", "_scaled_mm fast")}
            t = timing.interleaved({s: timing.GraphTimer(c, ops, reps=reps) for s, c in final.items()}, 15)
            summ = {s: timing.summarize(v) for s, v in t.items()}
            row = {"n": n, "k": k, "m": m,
                   **{f"quack_{a}": {"symbol": s, "design": table[s]["design"], "us": summ[s].median_us,
                                     "spread": summ[s].spread} for a, s in best.items()},
                   **{f"scaled_mm_{a}": {"us": summ[f"_scaled_mm {a}"].median_us,
                                         "spread": summ[f"_scaled_mm {a}"].spread} for a in ACCUM}}
            rows.append(row)
            del ops
            torch.cuda.empty_cache()
            print(json.dumps(row), flush=True)
    lines = [header,
             "us: median of 15 interleaved rounds (CUDA graphs, L2-rotated operands); spread (p90-p10)/median; "
             "TF/s = 2MNK/t; quack: best of the source's sm_90a designs per accumulation (5-round pre-pass)",
             f"{'shape':>11} {'M':>5} | {'quack slow':>10} {'_s_mm slow':>10} {'ratio':>6} | {'quack fast':>10} "
             f"{'_s_mm fast':>10} {'ratio':>6} | {'TF/s q-fast':>11} {'TF/s s-fast':>11} | spread max"]
    for r in rows:
        tf = lambda us: 2 * r["m"] * r["n"] * r["k"] / us / 1e6  # noqa: E731
        qs, ss, qf, sf = (r["quack_slow"]["us"], r["scaled_mm_slow"]["us"], r["quack_fast"]["us"],
                          r["scaled_mm_fast"]["us"])
        spread = max(r[x]["spread"] for x in ("quack_slow", "scaled_mm_slow", "quack_fast", "scaled_mm_fast"))
        lines.append(f"{r['n']:>5}x{r['k']:<5} {r['m']:>5} | {qs:>10.1f} {ss:>10.1f} {ss / qs:>6.2f} | "
                     f"{qf:>10.1f} {sf:>10.1f} {sf / qf:>6.2f} | {tf(qf):>11.0f} {tf(sf):>11.0f} | {spread:.1%}")
    lines.append(f"kernels checked at every point: {len(table)}; wrong: {len(bad)} {bad[:10]}")
    print("\n".join(lines))
    if log:
        os.makedirs(log, exist_ok=True)
        Path(log, "quack_fp8_probe.txt").write_text("\n".join(lines) + "\n")
        Path(log, "quack_fp8_probe.json").write_text(json.dumps({"header": header, "rows": rows, "wrong": bad},
                                                                indent=1))


def compile_or_run(argv: list[str], compile_fn, run_fn, usage: str) -> None:
    """`compile DIR` or `run DIR [--log DIR]` (this probe's command line, and bench/fp8_promote_probe.py's)."""
    if len(argv) >= 2 and argv[0] == "compile":
        compile_fn(argv[1])
    elif len(argv) >= 2 and argv[0] == "run":
        run_fn(argv[1], argv[argv.index("--log") + 1] if "--log" in argv else None)
    else:
        sys.exit(usage)


def main(argv: list[str]) -> None:
    compile_or_run(argv, compile_main, run_main, __doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
