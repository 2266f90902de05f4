#!/usr/bin/env python
"""Where AOTInductor + bundle loses time against plain AOTInductor: the GPU kernels of one forward, side by side.

    CXX=/usr/bin/g++ python bench/aoti_profile.py --bundle TUNED.agb [--fused-bundle TUNED-FUSED.agb] [--ms 128,2048]

Models: testing.llama_block_lm_head (5 nn.Linear GEMMs; with --bundle) and, with transformers installed and
--fused-bundle, the Llama-3.1-8B LlamaDecoderLayer of bench/epilogue_block.py (its MLP folded into the fused
ops). Each is exported with M dynamic and compiled twice: torch's own aoti_compile_and_package (plain) and
aotgemm.aoti.compile (bundle). Per M: CUDA-event time per forward (trials of the two interleaved, median and
p10-p90), then torch.profiler's CUDA kernels of `--prof-reps` forwards, grouped by name, in µs per forward, plain
beside bundle, largest difference first. Then, for the eager block: host CPU time per forward, eager vs
eager-patched (interleaved rounds), and cProfile's top functions of the patched forward.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
T0 = time.perf_counter()
from epilogue_block import time_calls  # noqa: E402  (CUDA events around back-to-back calls)


def log(s: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f} s] {s}", file=sys.stderr, flush=True)


def packages(model, example, bundle: Path, work: Path):
    import torch
    from torch.export import Dim

    import aotgemm.aoti as aoti

    cxx = os.environ.get("CXX") or "/usr/bin/g++"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ep = torch.export.export(model, (example,), dynamic_shapes=({0: Dim("m", min=1, max=1 << 16)},))
    plain = torch._inductor.aoti_compile_and_package(ep, package_path=str(work / "plain.pt2"),
                                                     inductor_configs={"cpp.cxx": (None, cxx)})
    log(f"plain package {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    pkg = aoti.compile(model, (example,), bundle, work / "bundle.pt2", cxx=cxx)
    routed = [f"{r.node}:{r.epilogue}:{r.n}x{r.k}" for r in aoti.package_info(pkg).routed]
    log(f"bundle package {time.perf_counter() - t0:.1f} s, routed {routed}")
    return torch._inductor.aoti_load_package(plain), aoti.load(pkg), routed


def kernels_us(fn, x, reps: int) -> dict[str, tuple[float, float]]:
    """kernel name -> (launches per forward, µs per forward), from torch.profiler over `reps` forwards."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    fn(x)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            fn(x)
        torch.cuda.synchronize()
    out: dict = defaultdict(lambda: [0, 0.0])
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            name = e.name[:70]
            out[name][0] += 1
            out[name][1] += e.device_time
    return {k: (c / reps, us / reps) for k, (c, us) in out.items()}


def compare(name: str, fns: dict, xs: dict, args) -> None:
    import torch

    from aotgemm.timing import trial_order

    with torch.no_grad():
        for m, x in xs.items():
            ref = fns["eager"](x).float()
            for k in ("plain", "bundle"):
                err = float((fns[k](x).float() - ref).norm() / ref.norm())
                print(f"{name} M={m} {k}: rel err vs eager {err:.1e}", flush=True)
            t = {"plain": [], "bundle": []}
            for r in range(args.trials):
                for k in trial_order(list(t), r):  # plain first, then bundle first: neither always follows
                    fns[k](x)
                    t[k].append(time_calls(fns[k], x, args.reps, "cuda"))
            med = {k: statistics.median(v) for k, v in t.items()}
            spread = {k: (sorted(v)[len(v) // 10], sorted(v)[-1 - len(v) // 10]) for k, v in t.items()}
            print(f"\n{name} M={m}: plain {med['plain']:.3f} ms ({spread['plain'][0]:.3f}-{spread['plain'][1]:.3f}), "
                  f"bundle {med['bundle']:.3f} ms ({spread['bundle'][0]:.3f}-{spread['bundle'][1]:.3f}), "
                  f"bundle/plain speed {med['plain'] / med['bundle']:.3f}x", flush=True)
            kp, kb = kernels_us(fns["plain"], x, args.prof_reps), kernels_us(fns["bundle"], x, args.prof_reps)
            tot_p, tot_b = sum(v[1] for v in kp.values()), sum(v[1] for v in kb.values())
            print(f"  GPU kernel time per forward: plain {tot_p:.1f} us ({sum(v[0] for v in kp.values()):.0f} "
                  f"launches), bundle {tot_b:.1f} us ({sum(v[0] for v in kb.values()):.0f} launches)")
            print(f"  {'kernel':70} {'plain n':>7} {'plain us':>9} {'bundle n':>8} {'bundle us':>9} {'diff us':>8}")
            for kname in sorted(set(kp) | set(kb), key=lambda s: -abs(kb.get(s, (0, 0))[1] - kp.get(s, (0, 0))[1])):
                p, b = kp.get(kname, (0, 0.0)), kb.get(kname, (0, 0.0))
                print(f"  {kname:70} {p[0]:7.1f} {p[1]:9.1f} {b[0]:8.1f} {b[1]:9.1f} {b[1] - p[1]:+8.1f}")


def eager_host(block, bundle: Path, ms, args) -> None:
    import torch

    import aotgemm.runtime as rt
    from aotgemm.aoti import testing
    from aotgemm.timing import trial_order

    rt.load(bundle)
    patched = copy.deepcopy(block)
    rt.patch(patched)
    with torch.no_grad():
        for m in ms:
            x = testing.deterministic_input((m, testing.LLAMA_8B["hidden"]), torch.bfloat16, "cuda")
            for f in (block, patched):
                for _ in range(20):
                    f(x)
            torch.cuda.synchronize()
            a, b = [], []
            for r in range(args.trials):
                for f, acc in trial_order(((block, a), (patched, b)), r):
                    t0 = time.thread_time()
                    for _ in range(args.reps):
                        f(x)
                    acc.append((time.thread_time() - t0) / args.reps * 1e6)
                    torch.cuda.synchronize()
            rt.reset_stats()
            patched(x)
            s = rt.stats()
            print(f"\neager block M={m}: host CPU per forward eager {min(a):.1f} us, patched {min(b):.1f} us "
                  f"(min of {args.trials}); hits {s.total_hits}/{s.total_hits + s.total_misses}", flush=True)
            pr = cProfile.Profile()
            pr.enable()
            for _ in range(args.reps):
                patched(x)
            pr.disable()
            torch.cuda.synchronize()
            buf = io.StringIO()
            pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(14)
            print("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:4000])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", help="the block's bundle")
    ap.add_argument("--fused-bundle")
    ap.add_argument("--ms", default="128,2048")
    ap.add_argument("--eager-ms", default="1,16")
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--prof-reps", type=int, default=5)
    ap.add_argument("--layer-only", action="store_true", help="only the decoder layer (one process serves one bundle)")
    args = ap.parse_args()
    import torch

    from aotgemm.aoti import testing

    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    ms = [int(m) for m in args.ms.split(",")]
    work = Path(tempfile.mkdtemp(prefix="aotgemm-aoti-profile-"))
    if not args.layer_only:
        block = testing.llama_block_lm_head("cuda", seed=0)
        h = testing.LLAMA_8B["hidden"]
        eager_host(block, Path(args.bundle), [int(m) for m in args.eager_ms.split(",")], args)
        plain, bundle, _ = packages(block, torch.randn(8, h, device="cuda", dtype=torch.bfloat16),
                                    Path(args.bundle), work / "block")
        xs = {m: testing.deterministic_input((m, h), torch.bfloat16, "cuda") for m in ms}
        compare("block", {"eager": block, "plain": plain, "bundle": bundle}, xs, args)
    if args.fused_bundle:
        import epilogue_block as eb

        layer, hid, _cfg = eb.build_layer(False, "cuda")
        gen = torch.Generator(device="cuda").manual_seed(1)
        xs = {m: torch.randn(m, 1, hid, generator=gen, device="cuda", dtype=torch.bfloat16) for m in ms}
        plain, bundle, _ = packages(layer, xs[max(ms)], Path(args.fused_bundle), work / "layer")
        compare("layer", {"eager": layer, "plain": plain, "bundle": bundle}, xs, args)


if __name__ == "__main__":
    main()
