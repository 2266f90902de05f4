"""Session 28: why, with M symbolic, a compiled per-tensor torchao float8 layer traced with aotgemm_scaled_mm
ran 0.45x-0.66x of torchao's own compiled layer at M = 64 where the bundle leaves the GEMM to _scaled_mm
(call A: o 85.4 against 51.0 us, gate_up 174.2 against 77.8), while torchao's layer compiled twice timed
0.95x-1.39x apart.

Per case (layer, M), per-tensor scales, M symbolic (dynamic=True), three sides compiled:
    torchao   lin(x): torchao's forward
    control   lin(x) again: a second graph of the same code
    patched   torchao_fp8.forward: the op, which decides per call
prints Inductor's wrapper code's kernel calls (the full code goes to OUT/code), the CUDA kernels each side runs
in a profiled CUDA-graph replay (names, count per call, mean us), and interleaved CUDA-graph timings (medians).
    python dynamic_probe.py BUNDLE OUTDIR
"""

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

CASES = [("o", 4096, 4096, 64), ("gate_up", 28672, 4096, 64), ("o", 4096, 4096, 2)]


def main():
    bundle, out = sys.argv[1], Path(sys.argv[2])
    (out / "code").mkdir(parents=True, exist_ok=True)
    torch._dynamo.config.cache_size_limit = 256
    torch._dynamo.config.accumulated_cache_size_limit = 1024
    rt.load(bundle)
    timing.warm_up()
    summary = []
    for name, n, k, m in CASES:
        torch._dynamo.reset()
        layers = quantized_layers(n, k, 2, False, seed=n + k)
        sides = {"torchao": torch.compile(lambda lin, x: lin(x), dynamic=True),
                 "control": torch.compile(lambda lin, x: lin(x), dynamic=True),
                 "patched": torch.compile(lambda lin, x: torchao_fp8.forward(lin, x), dynamic=True)}
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
        for side in ("control", "patched"):
            dev = ((outs[side].float() - outs["torchao"].float()).norm() / outs["torchao"].float().norm()).item()
            print(f"   {side} vs torchao output: {dev:.2e}")
        ops = LayerCopies(layers, m, seed=m)
        timers = {s: timing.GraphTimer(lambda x, lin, o, e, f=f: f(lin, x), ops, reps=20) for s, f in sides.items()}
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
        s = timing.interleaved(timers, 11, warmup=timing.WARMUP_ROUNDS)
        parts = []
        for side in ("control", "patched"):
            c = timing.compare(s[side], s["torchao"])
            parts.append(f"{side} {c.kernel.median_us:8.2f} us x{c.ratio_median:.3f} "
                         f"(spread {max(c.kernel.spread, c.cublas.spread):.1%})")
        line = f"{name:>7} M={m:>5}: torchao {statistics.median(s['torchao']):8.2f} us; " + "; ".join(parts)
        print("   " + line, flush=True)
        summary.append(line)
        del ops, timers, layers
        torch.cuda.empty_cache()
    print("\n".join(["", "summary (compiled, M symbolic, per tensor):"] + summary))


if __name__ == "__main__":
    main()
