"""Session 22: the CUDA-core (simt) kernels with their first chunk of weight loads before griddepcontrol.wait
("new", this commit) against the same designs with every load after it ("old", the commit before), and cuBLAS,
at M = 1 (max_m 1) and M = 1, 2 (max_m 2), timed three ways in one interleaved set of rounds per point:
back to back; after torch's copy kernel writes x (a plain launch: "model"); after Inductor's PDL copy writes x
("pdl": torch.compile with triton.enable_pdl, a PDL primary that releases the GEMM before its stores).

Session 18 compared the same two variants back to back and in "model" only (0.3% and 1.1% slower in the
median): with a plain launch before it, nothing can run under the wait. Under the PDL writer it can.

    python early_pdl_ab.py compile DIR      (CPU; the tree on PYTHONPATH is the variant compiled)
    python early_pdl_ab.py run OLD NEW      (GPU) -> a table, and OUT/early_pdl_ab.json if $OUT is set
"""
import json
import os
import statistics
import sys
from pathlib import Path

# the small weights of the four bf16 bundles (o, qkv at TP 1-8), and two larger ones
SHAPES = [(5120, 1280), (1792, 5120), (8192, 1024), (1280, 8192), (2560, 4096), (6144, 2560), (4096, 4096),
          (4096, 14336)]
MODES = ("plain", "model", "pdl")


def compile_dir(outdir: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "bench"))
    from decode_probe import compile_and_link, symbol_table

    from aotgemm.compiler.sources.decode_designs import simt_designs_for

    designs = [d for n, k in SHAPES for mm in (1, 2) for d in simt_designs_for(n, k, "sm_90a", max_m=mm)]
    compile_and_link(outdir, symbol_table(designs))


def run(old: str, new: str, trials: int = 15) -> None:
    import torch
    import tvm_ffi

    from aotgemm import timing
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    torch.cuda.init()
    mods = {v: tvm_ffi.load_module(str(Path(d) / "kernels.so")) for v, d in (("old", old), ("new", new))}
    designs = json.loads((Path(new) / "designs.json").read_text())
    assert designs == json.loads((Path(old) / "designs.json").read_text()), "the two builds hold other designs"
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    timing.warm_up(1.0)
    rows, worst = [], 0.0
    for sym, d in sorted(designs.items(), key=lambda kv: (kv[1]["n"], kv[1]["k"], kv[1]["max_m"], kv[0])):
        problem = GemmProblem("bfloat16", "linear", "identity", d["n"], d["k"])
        for m in range(1, d["max_m"] + 1):
            calls = {v: timing.kernel_call(mods[v].get_function(sym), problem) for v in mods}
            for v, c in calls.items():  # fresh random operands, output poisoned, against float32
                err = timing.check(c, problem, m, seed=hash((sym, m, v)) % 2**31)
                worst = max(worst, err)
                assert err < 1e-2, f"{v} {sym} M={m}: relative error {err:.2e}"
            calls["cublas"] = timing.cublas_call(problem)
            ops = timing.Operands(problem, m, l2)
            reps = timing.reps_for(problem, m)
            timers = {}
            for mode in MODES:
                kw = dict(reps=reps, model=mode != "plain",
                          writer_kind=timing.PDL_WRITER if mode == "pdl" else timing.COPY_WRITER)
                for v, c in calls.items():
                    timers[f"{v}/{mode}"] = timing.GraphTimer(c, ops, **kw)
            s = timing.interleaved(timers, trials, warmup=timing.WARMUP_ROUNDS)
            row = {"symbol": sym, "n": d["n"], "k": d["k"], "max_m": d["max_m"], "m": m,
                   "us": {t: round(statistics.median(v), 3) for t, v in s.items()},
                   "spread": {t: round(timing.summarize(v).spread, 4) for t, v in s.items()}}
            for mode in MODES:  # per round: new over old, and each over cuBLAS, as medians of the ratios
                row[f"new_over_old/{mode}"] = round(timing.compare(s[f"new/{mode}"], s[f"old/{mode}"]).ratio_median, 4)
                for v in ("old", "new"):
                    row[f"{v}_x/{mode}"] = round(timing.compare(s[f"{v}/{mode}"], s[f"cublas/{mode}"]).ratio_median, 4)
            rows.append(row)
            print(f"{d['n']:>5}x{d['k']:<5} M={m} {sym[-18:]:>18} " + "  ".join(
                f"{mode}: old {row['us'][f'old/{mode}']:6.2f} new {row['us'][f'new/{mode}']:6.2f} "
                f"cuBLAS {row['us'][f'cublas/{mode}']:6.2f} new/old x{row[f'new_over_old/{mode}']:.3f}"
                for mode in MODES), flush=True)
            del ops, timers
    out = {"gpu": torch.cuda.get_device_name(0), "trials": trials, "worst_rel_err": worst, "rows": rows}
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "early_pdl_ab.json").write_text(json.dumps(out, indent=1))
    print(f"\n{len(rows)} points, worst relative error {worst:.2e}; medians over points (new over old; x over cuBLAS)")
    print(f"{'mode':<6} {'new/old':>8} {'min':>6} {'max':>6} {'old x':>7} {'new x':>7}")
    for mode in MODES:
        r = [row[f"new_over_old/{mode}"] for row in rows]
        print(f"{mode:<6} {statistics.median(r):8.3f} {min(r):6.3f} {max(r):6.3f} "
              f"{statistics.median(row[f'old_x/{mode}'] for row in rows):7.3f} "
              f"{statistics.median(row[f'new_x/{mode}'] for row in rows):7.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "compile":
        compile_dir(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3])
