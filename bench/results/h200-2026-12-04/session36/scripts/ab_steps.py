"""Session 36, CPU side of call A: the TMA decode kernels' output stage as committed (one step a thread at a time)
and with OUT_STEPS steps' partials read before any is stored, each design twice in one kernels.so, so that a probe
run times both twins in the same interleaved rounds.

  python ab_steps.py compile ROOT SUFFIX DTYPE OUTDIR [OUT_STEPS]   # objects of ROOT's decode_tma, SYMBOL + SUFFIX
  python ab_steps.py link OUTDIR SUFFIX...                          # kernels.so + designs.json of them all

The designs: every TMA design a build offers (decode_designs.tma_designs_for) at max_m 16, 32, 64 and the measured
128 on the 16 weights of the shipped manifests but their lm_heads, bf16 (identity) or e4m3 (scale_tensor). ROOT is
a source tree: the committed one (a git worktree of HEAD) for the base, this one for the change."""
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

WEIGHTS = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (8192, 1024), (1280, 8192), (7168, 8192),
           (8192, 3584), (1792, 5120), (5120, 1280), (13824, 5120), (5120, 6912), (6144, 2560), (2560, 4096),
           (19456, 2560), (2560, 9728)]


def designs(dtype):
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources.decode_design_dicts import design_name

    epi = "scale_tensor" if dtype == "float8_e4m3fn" else "identity"
    out = {}
    for n, k in WEIGHTS:
        for max_m in dd.TMA_MAX_M + dd.TMA_MEASURED_MAX_M:
            for d in dd.tma_designs_for(n, k, "sm_90a", max_m, epi, dtype):
                out["aotgemm_" + design_name(d)] = d
    return out


def _one(job):
    root, steps, design, symbol, path = job
    sys.path.insert(0, root)
    from aotgemm.compiler.sources import decode_kernels as dk
    from aotgemm.compiler.sources import decode_tma

    assert Path(decode_tma.__file__).resolve().is_relative_to(Path(root).resolve()), decode_tma.__file__
    if steps is not None:
        decode_tma.OUT_STEPS = steps
    t = time.time()
    dk.compile_decode(design, symbol, path, "sm_90a")
    return symbol, time.time() - t


def compile_main(root, suffix, dtype, outdir, steps=None):
    sys.path.insert(0, root)
    table = designs(dtype)
    obj = Path(outdir) / "obj"
    obj.mkdir(parents=True, exist_ok=True)
    jobs = [(root, steps, d, s + suffix, str(obj / f"{s}{suffix}.o")) for s, d in table.items()
            if not (obj / f"{s}{suffix}.o").exists()]
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=int(os.environ.get("PROBE_JOBS", "2"))) as ex:
        for sym, dt in ex.map(_one, jobs):
            print(f"  {sym}: {dt:.1f} s", flush=True)
    print(f"compiled {len(jobs)} of {len(table)} in {time.time() - t0:.0f} s", flush=True)
    (Path(outdir) / f"designs{suffix}.json").write_text(json.dumps({s + suffix: d for s, d in table.items()},
                                                                   indent=1, sort_keys=True))


def link_main(outdir, suffixes):
    from aotgemm.compiler.link import link_library

    out = Path(outdir)
    table = {}
    for suffix in suffixes:
        table.update(json.loads((out / f"designs{suffix}.json").read_text()))
    lib = link_library({s: out / "obj" / f"{s}.o" for s in table}, link_mode="static-runtime", cuda_major=13)
    (out / "kernels.so.tmp").write_bytes(lib)
    os.replace(out / "kernels.so.tmp", out / "kernels.so")
    (out / "designs.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    print(f"wrote {out / 'kernels.so'} ({len(lib) / 1e6:.1f} MB), {len(table)} kernels")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "compile":
        compile_main(a[1], a[2], a[3], a[4], int(a[5]) if len(a) > 5 else None)
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
        link_main(a[1], a[2:])
