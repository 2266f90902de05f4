"""More tile shapes for the quack source on sm_90a: do tiles that fill the H200's waves win where the baseline
(cuBLAS, `_scaled_mm` for e4m3) still serves the bundles at large M?

    python bench/quack_tile_probe.py compile DIR [--dtype D]  # CPU, with quack-kernels and the CuTe DSL
    python bench/quack_tile_probe.py run DIR [--log DIR] [--ms 512,1024,...] [--weights NxK,...]  # the H200

D: float8_e4m3fn (the default; per-tensor scales) or bfloat16. The run step needs torch and tvm_ffi only; --ms and
--weights replace the M values and the weights (N x K) timed.

Why: issue 14's 1.15x over all points (fp8, per-tensor scales) holds for Llama-3.1-70B TP8 only; Qwen2.5-32B TP4
needs 3.2% more, Qwen3-4B 3.8%, Llama-3.1-8B 7%, and most of their M >= 256 points are `_scaled_mm`'s; issue 11's
1.10x (bf16) misses on Llama-3.1-8B and Llama-3.1-70B TP8, whose M >= 256 points are mostly cuBLAS's. The quack
source offers three e4m3 tiles (quack.SM90_FP8_DESIGNS: cooperative 128 x {128, 192}, ping-pong 64 x 192, those
whose float32 promotion does not spill) and eight bf16 ones (quack.SM90_DESIGNS); session 33's tuner kept
`_scaled_mm` at most large-M points, some within 4-10% (Qwen3-4B's o 2560 x 4096 at M = 1024-2048: 0.93x, 0.91x).
With 132 SMs and one 128-token tile row per 128 of M, a weight of N rows fills a whole number of waves only for
some tile widths (2560 / 160 = 16 tiles a row: 8 rows at M = 1024 are 128 tiles, 97% of a wave, where 128 x 192
leaves 112 and 128 x 128 160). This compiles the source's tiles and more widths (CANDIDATES), e4m3 ones promoting
every 2 k tiles as the source does, keeps those that do not spill (cuobjdump of the cubin,
`aotgemm.compiler.cubin_usage`), and times them on the four models' weights at M = 512-4096 against the baseline:
per point the fastest of the source's tiles ("now") and of all of them ("best"), each as the median over 15
interleaved rounds (CUDA graphs, L2-rotated operands) of baseline / kernel, and as in a model too. Each kernel is
first checked against the float32 reference (on the dequantized operands for e4m3; output poisoned). A table last.
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

from quack_fp8_probe import checked_calls, link_probe, open_probe  # noqa: E402

# the weights of the four models' bundles (manifests/*.toml; lm_head left out), small N first
SHAPES = ((1280, 8192), (1792, 5120), (2560, 4096), (2560, 9728), (4096, 4096), (4096, 14336), (5120, 1280),
          (5120, 6912), (6144, 2560), (6144, 4096), (8192, 1024), (8192, 3584))
MS = (512, 1024, 2048, 4096)
# (tile [M, N], cluster [M, N], ping-pong) tried beside the source's own (those it has are skipped), per dtype
EXTRA = {
    "float8_e4m3fn": (*(((128, n), (2, 1), False) for n in range(144, 256, 16)),
                      *(((64, n), (2, 1), True) for n in (128, 144, 160, 176, 208, 224))),
    "bfloat16": (*(((128, n), (2, 1), True) for n in (144, 176, 224, 240)),
                 *(((128, n), (2, 1), False) for n in (128, 160, 192, 224, 240)),
                 *(((256, n), (2, 1), False) for n in (144, 160, 176, 208, 224)),
                 *(((64, n), (2, 1), True) for n in (128, 144, 160, 176, 192, 208, 224, 256))),
}
EPILOGUE = {"float8_e4m3fn": "scale_tensor", "bfloat16": "identity"}


def symbol(tile, cluster, pingpong) -> str:
    """pp128x192, co128x160: ping-pong or cooperative and the tile; a cluster other than 2 x 1 appended (c12)."""
    kind = "pp" if pingpong else "co"
    return f"{kind}{tile[0]}x{tile[1]}" + ("" if tuple(cluster) == (2, 1) else "c%d%d" % tuple(cluster))


def source_designs(dtype: str) -> tuple:
    from aotgemm.compiler.sources.quack import SM90_DESIGNS, SM90_FP8_DESIGNS

    return SM90_FP8_DESIGNS if dtype == "float8_e4m3fn" else SM90_DESIGNS


def compile_main(outdir: str, dtype: str) -> None:
    from aotgemm.compiler.cubin_usage import device_functions, stack_bytes
    from aotgemm.compiler.sources import get_source
    from aotgemm.compiler.sources.quack import specs
    from aotgemm.compiler.spec import canonical_json
    from aotgemm.errors import CompileError
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    src, out = get_source("quack"), Path(outdir)
    (out / "obj").mkdir(parents=True, exist_ok=True)
    (out / "cubin").mkdir(exist_ok=True)
    problem = GemmProblem(dtype, "linear", EPILOGUE[dtype], *SHAPES[0])
    base = specs(problem, gpu_model("H200_SXM"))[0]  # arch, cluster count, epilogue, promotion as the source's
    table, spilled = {}, {}  # spilled: symbol -> stack bytes, or why quack refused it
    own = source_designs(dtype)
    for i, (tile, cluster, pp) in enumerate((*own, *(d for d in EXTRA[dtype] if d not in own))):
        s = symbol(tile, cluster, pp)
        design = {**base.design_dict, "tile": list(tile), "cluster": list(cluster), "pingpong": pp}
        t = time.time()
        try:
            src.compile(dataclasses.replace(base, design=canonical_json(design)), s, str(out / "obj" / f"{s}.o"))
        except CompileError as e:  # quack's own limits (ping-pong 128-row bf16 tiles: N <= 208)
            spilled[s] = str(e).strip().splitlines()[-1]
            print(f"{s}: refused, {spilled[s]}", flush=True)
            continue
        ((_, usage),) = device_functions(out / "obj" / f"{s}.o", out / "cubin").items()
        print(f"{s}: {time.time() - t:.1f} s, {usage.strip()}", flush=True)
        if stack_bytes(usage):
            spilled[s] = stack_bytes(usage)
        else:
            table[s] = {**design, "source": i < len(own)}
    print(f"spilling or refused, left out: {spilled}")
    link_probe(out, table)
    (out / "probe.json").write_text(json.dumps({"dtype": dtype, "spilled": spilled}))


def run_main(outdir: str, log: str | None, ms: tuple[int, ...] = MS, shapes: tuple = SHAPES) -> None:
    import torch

    from aotgemm import timing
    from aotgemm.problem import GemmProblem

    table, mod, props, header = open_probe(outdir, "quack_tile_probe")
    dtype = json.loads(Path(outdir, "probe.json").read_text())["dtype"]
    source = [s for s, d in table.items() if d["source"]]
    rows, bad = [], []
    for n, k in shapes:
        problem = GemmProblem(dtype, "linear", EPILOGUE[dtype], n, k)
        for m in ms:
            calls = checked_calls(mod, table, problem, m, bad)
            calls["base"] = timing.cublas_call(problem)
            ops = timing.Operands(problem, m, props.L2_cache_size, seed=m)
            reps = timing.reps_for(problem, m)
            # 5 rounds of all of them pick the 3 fastest other tiles and the fastest of the source's; 15 rounds of
            # those and the baseline decide
            first = timing.interleaved({s: timing.GraphTimer(c, ops, reps=reps) for s, c in calls.items()}, 5,
                                       warmup=timing.WARMUP_ROUNDS)
            med = {s: statistics.median(v) for s, v in first.items()}
            now = min((s for s in source if s in med), key=med.get)
            new = sorted((s for s in med if s not in source and s != "base"), key=med.get)[:3]
            final = [now, *new, "base"]
            t = timing.interleaved({s: timing.GraphTimer(calls[s], ops, reps=reps) for s in final}, 15,
                                   warmup=timing.WARMUP_ROUNDS)
            ratios = {s: statistics.median(b / x for x, b in zip(t[s], t["base"])) for s in final}
            best = max(final[:-1], key=ratios.get)
            model = timing.interleaved({s: timing.GraphTimer(calls[s], ops, reps=reps, model=True)
                                        for s in {now, best, "base"}}, 15, warmup=timing.WARMUP_ROUNDS)
            model_ratios = {s: statistics.median(b / x for x, b in zip(model[s], model["base"])) for s in model}
            base = timing.summarize(t["base"])
            row = {"n": n, "k": k, "m": m, "now": now, "best": best, "base_us": base.median_us,
                   "base_spread": base.spread, "ratios": ratios, "model_ratios": model_ratios}
            rows.append(row)
            del ops
            torch.cuda.empty_cache()
            print(json.dumps(row), flush=True)
            if log:
                os.makedirs(log, exist_ok=True)
                Path(log, "quack_tile_probe.json").write_text(json.dumps({"header": header, "dtype": dtype,
                                                                          "kernels": table, "rows": rows,
                                                                          "wrong": bad}, indent=1))
    lines = [header + f", {dtype}, baseline {timing.baseline_name(problem)}",
             "x: median over 15 interleaved rounds of baseline / kernel (CUDA graphs, L2-rotated operands); "
             "now: the fastest of the source's tiles; best: the fastest of all; model: as in a model",
             f"{'shape':>11} {'M':>5} | {'base us':>7} {'spread':>6} | {'now':>10} {'x now':>6} | {'best':>10} "
             f"{'x best':>6} | {'model now':>9} {'model best':>10}"]
    for r in rows:
        lines.append(f"{r['n']:>5}x{r['k']:<5} {r['m']:>5} | {r['base_us']:>7.1f} {100 * r['base_spread']:>5.1f}% | "
                     f"{r['now']:>10} {r['ratios'][r['now']]:>6.3f} | {r['best']:>10} {r['ratios'][r['best']]:>6.3f} | "
                     f"{r['model_ratios'][r['now']]:>9.3f} {r['model_ratios'][r['best']]:>10.3f}")
    gain = [r["ratios"][r["best"]] / r["ratios"][r["now"]] for r in rows]
    lines.append(f"kernels: {len(table)}; wrong: {len(bad)} {bad[:10]}; best over now: geomean "
                 f"{statistics.geometric_mean(gain):.3f}, {sum(g >= 1.03 for g in gain)} of {len(gain)} points >= 1.03")
    print("\n".join(lines))
    if log:
        Path(log, "quack_tile_probe.txt").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "compile":
        compile_main(argv[1], argv[argv.index("--dtype") + 1] if "--dtype" in argv else "float8_e4m3fn")
    elif len(argv) >= 2 and argv[0] == "run":
        run_main(argv[1], argv[argv.index("--log") + 1] if "--log" in argv else None,
                 tuple(int(m) for m in argv[argv.index("--ms") + 1].split(",")) if "--ms" in argv else MS,
                 tuple(tuple(int(v) for v in w.split("x")) for w in argv[argv.index("--weights") + 1].split(","))
                 if "--weights" in argv else SHAPES)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
