"""Session 30, CPU side of calls H and I: one kernels.so holding each design twice, as compiled before this session's
output-stage change (the objects of an earlier probe compile, their symbols as they were) and after it (compiled
now, symbol + "_v2"), so that a probe run times both in the same interleaved rounds.

  python ab_compile.py OLD_PROBE_DIR OLD_OBJ_DIR OUTDIR [--vw4 | --vw4-all [--base-suffix S]]

--vw4: only the designs whose output stage stores 4 columns a step (decode_tma.out_vec), the ones the change
touches in bf16 (in e4m3 every design reads its scales once now). --vw4-all (call I): instead the designs that store
one column a step (a CTA owning 8-32 columns, split-K over 2-8 CTAs), compiled now with 4 a step (out_vec patched
for this process; their partials' rows stay 16-byte aligned) as SYMBOL_vw4, beside OLD_OBJ_DIR's SYMBOL + S."""
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
sys.path.insert(0, str(Path(__file__).resolve().parents[5]))

import decode_probe  # noqa: E402


def main(old_dir, old_obj, outdir, vw4, vw4_all=False, base_suffix=""):
    from aotgemm.compiler.link import link_library
    from aotgemm.compiler.sources import decode_tma

    out_vec = decode_tma.out_vec
    old = json.loads((Path(old_dir) / "designs.json").read_text())
    if vw4:
        old = {s: d for s, d in old.items() if d["kind"] == "swapab_tma" and out_vec(d) == 4}
    suffix = "_v2"
    if vw4_all:
        old = {s: d for s, d in old.items() if d["kind"] == "swapab_tma" and out_vec(d) == 1
               and decode_tma._outc(d) % 4 == 0}
        # the pool's workers fork from this process, so they compile with the patched rule
        decode_tma.out_vec = lambda d: 4 if decode_tma._outc(d) % 4 == 0 else 1
        suffix = "_vw4"
    out = Path(outdir)
    (out / "obj").mkdir(parents=True, exist_ok=True)
    jobs = [(d, s + suffix, str(out / "obj" / f"{s}{suffix}.o")) for s, d in old.items()]
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=int(os.environ.get("PROBE_JOBS", "2"))) as ex:
        for sym, dt in ex.map(decode_probe._compile_one, jobs):
            print(f"  {sym}: {dt:.1f} s", flush=True)
    print(f"compiled {len(jobs)} in {time.time() - t0:.0f} s", flush=True)
    objs = {s + base_suffix: Path(old_obj) / f"{s}{base_suffix}.o" for s in old}
    objs.update({s + suffix: out / "obj" / f"{s}{suffix}.o" for s in old})
    lib = link_library(objs, link_mode="static-runtime", cuda_major=13)
    (out / "kernels.so.tmp").write_bytes(lib)
    os.replace(out / "kernels.so.tmp", out / "kernels.so")
    table = {s + base_suffix: d for s, d in old.items()}
    table.update({s + suffix: d for s, d in old.items()})
    (out / "designs.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    print(f"wrote {out / 'kernels.so'} ({len(lib) / 1e6:.1f} MB), {len(table)} kernels")


if __name__ == "__main__":
    argv = sys.argv
    main(argv[1], argv[2], argv[3], "--vw4" in argv, "--vw4-all" in argv,
         argv[argv.index("--base-suffix") + 1] if "--base-suffix" in argv else "")
