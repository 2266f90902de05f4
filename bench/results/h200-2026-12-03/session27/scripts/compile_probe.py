"""Session 27: why a compiled torchao float8 layer traced with aotgemm_scaled_mm ran up to 15% slower than
torchao's own compiled layer at M the bundle leaves to _scaled_mm (session 26 call E: down M = 64 0.850x).

Per case (layer, M), per-tensor scales, one graph per M (dynamic=False), each side compiled:
    torchao   lin(x): torchao's forward
    op        torchao_fp8.forward traced as if eager: the op at every M (session 26 call E's patched side)
    patched   torchao_fp8.forward as of call A: the op only at M a bundle kernel serves (its kernel_ranges, since
              replaced by kernel_when_compiled; at a static M the same choice)
prints Inductor's wrapper code's kernel calls (the full code goes to OUT/code), the CUDA kernels each side runs
in a profiled CUDA-graph replay (names, count per call, mean us), and interleaved CUDA-graph timings (medians).
    python compile_probe.py BUNDLE OUTDIR
"""

import inspect
import os
import re
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import torchao  # noqa: F401

import aotgemm.runtime as rt  # noqa: E402
from aotgemm import timing  # noqa: E402
from aotgemm.runtime import torchao_fp8  # noqa: E402
from torch._inductor.utils import run_and_get_code  # noqa: E402
from torchao_fp8 import LayerCopies, quantized_layers  # noqa: E402

CASES = [("down", 4096, 14336, 64), ("qkv", 6144, 4096, 1024), ("o", 4096, 4096, 16), ("down", 4096, 14336, 32)]


def traced_forward():
    """torchao_fp8.forward as if not compiling: the op is traced at every M."""
    src = inspect.getsource(torchao_fp8.forward).replace("torch.compiler.is_compiling()", "False")
    ns = dict(torchao_fp8.__dict__)
    exec(src, ns)
    return ns["forward"]


def main():
    bundle, out = sys.argv[1], Path(sys.argv[2])
    (out / "code").mkdir(parents=True, exist_ok=True)
    torch._dynamo.config.cache_size_limit = 256
    torch._dynamo.config.accumulated_cache_size_limit = 1024
    torch._dynamo.config.automatic_dynamic_shapes = False
    rt.load(bundle)
    fwd = traced_forward()
    timing.warm_up()
    summary = []
    for name, n, k, m in CASES:
        layers = quantized_layers(n, k, 2, False, seed=n + k)  # each copy is a compile per side
        sides = {"torchao": torch.compile(lambda lin, x: lin(x), dynamic=False),
                 "op": torch.compile(lambda lin, x: fwd(lin, x), dynamic=False),
                 "patched": torch.compile(lambda lin, x: torchao_fp8.forward(lin, x), dynamic=False)}
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        outs = {}
        for side, f in sides.items():
            rt.reset_stats()
            outs[side], code = run_and_get_code(f, layers[0], x)
            (out / "code" / f"{name}_m{m}_{side}.py.txt").write_text("\n\n#####\n".join(code))
            calls = [ln.strip() for c in code for ln in c.splitlines()
                     if re.search(r"\.run\(|extern_kernels\.|torch\.ops\.|\.launch", ln)]
            print(f"== {name} M={m} {side}: hits {rt.stats().total_hits}; wrapper calls:")
            for c in calls:
                print("   ", c[:200])
        for side in ("op", "patched"):
            dev = ((outs[side].float() - outs["torchao"].float()).norm() / outs["torchao"].float().norm()).item()
            print(f"   {side} vs torchao output: {dev:.2e}")
        ops = LayerCopies(layers, m, seed=m)
        timers = {s: timing.GraphTimer(lambda x, lin, o, e, f=f: f(lin, x), ops, reps=20) for s, f in sides.items()}
        # the kernels one replay runs, per side
        for side, t in timers.items():
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    t.graph.replay()
                torch.cuda.synchronize()
            rows = {}
            for e in prof.events():
                if e.device_type == torch.autograd.DeviceType.CUDA:
                    r = rows.setdefault(e.name, [0, 0.0])
                    r[0] += 1
                    r[1] += e.device_time if hasattr(e, "device_time") else e.cuda_time
            total = sum(v[1] for v in rows.values()) / (5 * 20)
            print(f"   {side} kernels per call (sum {total:.2f} us):")
            for kname, (cnt, us) in sorted(rows.items(), key=lambda kv: -kv[1][1]):
                print(f"      {cnt / 100:5.2f} x {us / cnt:8.2f} us  {kname[:150]}")
        s = timing.interleaved(timers, 15, warmup=timing.WARMUP_ROUNDS)
        parts = []
        for side in ("op", "patched"):
            c = timing.compare(s[side], s["torchao"])
            parts.append(f"{side} {c.kernel.median_us:8.2f} us x{c.ratio_median:.3f} "
                         f"(spread {max(c.kernel.spread, c.cublas.spread):.1%})")
        line = f"{name:>5} M={m:>5}: torchao {statistics.median(s['torchao']):8.2f} us; " + "; ".join(parts)
        print("   " + line, flush=True)
        summary.append(line)
        del ops, timers, layers
        torch.cuda.empty_cache()
    print("\n".join(["", "summary (compiled, one graph per M, per tensor):"] + summary))


if __name__ == "__main__":
    main()
