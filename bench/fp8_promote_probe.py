"""quack's Hopper e4m3 GEMM with promotion that does not spill or drain every k tile, against torch._scaled_mm.

    python bench/fp8_promote_probe.py compile DIR          # CPU, with quack-kernels and the CuTe DSL: sm_90a objects
    python bench/fp8_promote_probe.py run DIR [--log DIR]  # the H200: needs torch and tvm_ffi only

Why: at M >= 256 every fp8 bundle's points are `_scaled_mm`'s (cuBLASLt; its default promotes the tensor cores'
partial sums into float32, use_fast_accum=False), and issue 14's 1.15x over all points needs wins there. Session 8
(bench/quack_fp8_probe.py) found quack's e4m3 GEMMs with promotion at 0.17-0.30x of `_scaled_mm`'s default and with
fast accumulation at parity with its fast mode, which ran 3-11% faster than its default at M >= 1024. Compiled on
the CPU (session 33), every sm_90a design the `quack` source has spills with promotion (the float32 sum beside the
MMA accumulator: 256-872 bytes of stack for ping-pong 128 x 128-208, cooperative 256 x 128 and 128 x 256), while
cooperative 128 x 128, 128 x 192 and ping-pong 64 x 192 do not. This times those, with quack's promotion every k
tile (128 of K) and with `quack_kernels.promoting_class` promoting every 2 or 4 k tiles, beside the same designs
with fast accumulation and ping-pong 128 x 192 (a spilling one) for reference, against `_scaled_mm` in both modes,
per-tensor scales, on the Llama-3.1-70B TP8 and Llama-3.1-8B fp8 weights at M = 256, 1024, 4096. Each kernel is
first checked against the float32 reference on the dequantized operands (output poisoned); the relative errors of
the fastest of each kind and of `_scaled_mm` on one draw of operands are printed too. A table last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the session 8 probe beside this script (bench/ is on sys.path as the script's folder)
from quack_fp8_probe import checked_calls, compile_or_run, link_probe, open_probe, scaled_mm_call  # noqa: E402

SHAPES = ((1280, 8192), (8192, 1024), (7168, 8192), (8192, 3584),  # Llama-3.1-70B TP8 qkv, o, gate_up, down
          (6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336))  # Llama-3.1-8B
MS = (256, 1024, 4096)
# (tile, ping-pong): the designs whose promotion does not spill, then a spilling one of the source's for reference
TILES = (((128, 128), False), ((128, 192), False), ((64, 192), True))
SPILLING = ((128, 192), True)
EVERY = (1, 2, 4)  # k tiles per promotion (1: quack's own main loop)


def kinds() -> dict[str, dict]:
    """symbol -> design fields besides dtype/epilogue/arch: each tile with promotion every 1, 2, 4 k tiles and fast."""
    out = {}
    for i, (tile, pp) in enumerate(TILES):
        for every in EVERY:
            out[f"q{i}_p{every}"] = {"tile": list(tile), "pingpong": pp, "promote_every": every}
        out[f"q{i}_fast"] = {"tile": list(tile), "pingpong": pp, "fp8_fast_accum": True}
    out["spill_p1"] = {"tile": list(SPILLING[0]), "pingpong": SPILLING[1], "promote_every": 1}
    return out


def kind_of(symbol: str) -> str:
    return symbol.split("_", 1)[1]  # p1, p2, p4, fast


def compile_main(outdir: str) -> None:
    from aotgemm.compiler.sources import get_source
    from aotgemm.compiler.sources.quack import specs
    from aotgemm.compiler.spec import canonical_json
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    src, out = get_source("quack"), Path(outdir)
    (out / "obj").mkdir(parents=True, exist_ok=True)
    problem = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", *SHAPES[0])
    base = specs(problem, gpu_model("H200_SXM"))[0]  # the source's spec of the H200: arch, cluster count, epilogue
    table = {}
    for symbol, fields in kinds().items():
        design = {**base.design_dict, "cluster": [2, 1], **fields}
        spec = dataclasses.replace(base, design=canonical_json(design))
        t = time.time()
        src.compile(spec, symbol, str(out / "obj" / f"{symbol}.o"))
        table[symbol] = design
        print(f"{symbol} {design['tile']} {'pingpong' if design['pingpong'] else 'cooperative'} "
              f"{kind_of(symbol)}: {time.time() - t:.1f} s", flush=True)
    link_probe(out, table)


def run_main(outdir: str, log: str | None) -> None:
    import torch

    from aotgemm import timing
    from aotgemm.epilogues import epilogue
    from aotgemm.problem import GemmProblem

    table, mod, props, header = open_probe(outdir, "fp8_promote_probe")

    rows, bad = [], []
    for n, k in SHAPES:
        problem = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", n, k)
        ep = epilogue(problem.epilogue)
        for m in MS:
            calls = checked_calls(mod, table, problem, m, bad)
            calls["smm_slow"], calls["smm_fast"] = scaled_mm_call(False), scaled_mm_call(True)
            ops = timing.Operands(problem, m, props.L2_cache_size, seed=m)
            reps = timing.reps_for(problem, m)
            # a 5-round pass over all picks each kind's fastest design; then 15 rounds of those and _scaled_mm
            first = timing.interleaved({s: timing.GraphTimer(c, ops, reps=reps) for s, c in calls.items()}, 5,
                                       warmup=timing.WARMUP_ROUNDS)
            med = {s: statistics.median(v) for s, v in first.items()}
            best = {}
            for s in table:
                if s in med and not s.startswith("spill"):
                    kd = kind_of(s)
                    if kd not in best or med[s] < med[best[kd]]:
                        best[kd] = s
            final = {s: calls[s] for s in (*best.values(), *(["spill_p1"] if "spill_p1" in med else []),
                                           "smm_slow", "smm_fast")}
            t = timing.interleaved({s: timing.GraphTimer(c, ops, reps=reps) for s, c in final.items()}, 15,
                                   warmup=timing.WARMUP_ROUNDS)
            base = t["smm_slow"]
            ratios = {s: statistics.median(b / x for x, b in zip(v, base)) for s, v in t.items()}
            summ = {s: timing.summarize(v) for s, v in t.items()}
            # as in a model, the fastest promoting kind against _scaled_mm's default
            slow_best = max((best[kd] for kd in ("p1", "p2", "p4") if kd in best), key=lambda s: ratios[s])
            model = timing.interleaved({s: timing.GraphTimer(calls[s], ops, reps=reps, model=True)
                                        for s in (slow_best, "smm_slow")}, 15, warmup=timing.WARMUP_ROUNDS)
            model_ratio = statistics.median(b / x for x, b in zip(model[slow_best], model["smm_slow"]))
            # errors on one draw of operands, every kind on the same inputs
            g = torch.Generator(device="cuda").manual_seed(7 * m + n)
            x, w, extras = timing.random_operands(problem, m, g)
            ref = ep.reference(x, w, **extras)
            errs = {}
            for s in final:
                out = torch.full((m, n), float("nan"), device="cuda", dtype=torch.bfloat16)
                final[s](x, w, out, extras)
                errs[s] = ((out.float() - ref).norm() / ref.norm()).item()
            row = {"n": n, "k": k, "m": m, "best": best, "model_best": slow_best, "model_ratio": model_ratio,
                   **{s: {"design": table.get(s), "us": summ[s].median_us, "spread": summ[s].spread,
                          "ratio_vs_smm_slow": ratios[s], "rel_err": errs[s]} for s in final}}
            rows.append(row)
            del ops
            torch.cuda.empty_cache()
            print(json.dumps({kk: v for kk, v in row.items()}), flush=True)
            if log:
                os.makedirs(log, exist_ok=True)
                Path(log, "fp8_promote_probe.json").write_text(json.dumps({"header": header, "rows": rows,
                                                                            "wrong": bad}, indent=1))
    lines = [header,
             "us: median of 15 interleaved rounds (CUDA graphs, L2-rotated operands); x: median over rounds of "
             "_scaled_mm default / kernel; p1/p2/p4: promotion every 1/2/4 k tiles of 128, the fastest of the "
             "non-spilling designs; model: the fastest promoting kind as in a model; err: relative error against "
             "the float32 reference on one draw",
             f"{'shape':>11} {'M':>5} | {'smm slow':>8} {'smm fast':>8} | {'x p1':>6} {'x p2':>6} {'x p4':>6} "
             f"{'x fast':>6} {'x spill':>7} | {'model':>6} | {'err smm':>8} {'err p1':>8} {'err p2':>8} "
             f"{'err p4':>8} {'err fast':>8} {'err smmf':>8}"]

    def get(r, kd, field):
        s = r["best"].get(kd) if kd not in ("smm_slow", "smm_fast", "spill_p1") else kd
        return r[s][field] if s in r else float("nan")

    for r in rows:
        lines.append(
            f"{r['n']:>5}x{r['k']:<5} {r['m']:>5} | "
            f"{get(r, 'smm_slow', 'us'):>8.1f} {get(r, 'smm_fast', 'us'):>8.1f} | "
            + " ".join(f"{get(r, kd, 'ratio_vs_smm_slow'):>6.3f}" for kd in ("p1", "p2", "p4", "fast"))
            + f" {get(r, 'spill_p1', 'ratio_vs_smm_slow'):>7.3f} | {r['model_ratio']:>6.3f} | "
            + " ".join(f"{get(r, kd, 'rel_err'):>8.2e}" for kd in ("smm_slow", "p1", "p2", "p4", "fast", "smm_fast")))
    lines.append(f"kernels: {len(table)}; wrong: {len(bad)} {bad[:10]}")
    print("\n".join(lines))
    if log:
        Path(log, "fp8_promote_probe.txt").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    compile_or_run(argv, compile_main, run_main, __doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
