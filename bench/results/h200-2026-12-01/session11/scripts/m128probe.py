"""Session 11: why the compiled patched decoder layer is 0.7% behind the unpatched one at M = 128, where no
bundle kernel serves. Rows, all torch.compile(dynamic=False) and CUDA-graphed, trials interleaved:
  compiled            the unpatched layer
  compiled-patched    patch(): AotGemmLinear -> aotgemm_linear ops; fused MLP unfused to aotgemm_linear + torch
  patched-flinear     as compiled-patched, but where no kernel serves at the traced static M, F.linear itself
                      (no opaque op in the graph): is the custom-op boundary the gap?
With --pdl all three compile with Inductor's programmatic dependent launch (triton.enable_pdl), and the
kernels of one forward at M = 128 are listed per row (torch.profiler: name, count, us).
Usage: python3 m128probe.py TUNED_FUSED.agb [--pdl]"""
import copy
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "bench")
import epilogue_block as eb  # noqa: E402

import aotgemm.runtime as rt  # noqa: E402
from aotgemm.runtime import epilogue_ops  # noqa: E402
P = sys.modules["aotgemm.runtime.patch"]
from aotgemm.epilogues import IDENTITY  # noqa: E402
from aotgemm.timing import allow_recompiles, trial_order  # noqa: E402

model, hidden, cfg = eb.build_layer(False, "cuda")
rt.load(sys.argv[1])
PDL = "--pdl" in sys.argv
patched = copy.deepcopy(model)
print("patched:", rt.patch(patched))
allow_recompiles(torch)
ms = (1, 16, 128)
inputs = {m: torch.randn(m, 1, hidden, device="cuda", dtype=torch.bfloat16) for m in ms}
with torch.no_grad():
    refs = {m: model(x) for m, x in inputs.items()}

orig_fwd, orig_plain = P.AotGemmLinear.forward, epilogue_ops._plain_linear


def _static_no_kernel(x, w):
    lead = x.shape[:-1]
    if not torch.compiler.is_compiling() or not all(isinstance(d, int) for d in lead):
        return False
    m = 1
    for d in lead:
        m *= d
    return not epilogue_ops._has_kernel(x.dtype, IDENTITY, w.shape[0], w.shape[1], m)


def flinear_fwd(self, x):
    if _static_no_kernel(x, self.weight):
        return F.linear(x, self.weight, self.bias)
    return orig_fwd(self, x)


def flinear_plain(x, w):
    if _static_no_kernel(x, w):
        return F.linear(x, w)
    return orig_plain(x, w)


fns = {}
for row in ("compiled", "compiled-patched", "patched-flinear"):
    if row == "patched-flinear":
        P.AotGemmLinear.forward, epilogue_ops._plain_linear = flinear_fwd, flinear_plain
    torch._dynamo.reset()
    fn = torch.compile(model if row == "compiled" else patched, dynamic=False,
                       options={"triton.enable_pdl": PDL})
    with torch.no_grad():
        fns[row] = eb._GraphedForward(fn, inputs)
    P.AotGemmLinear.forward, epilogue_ops._plain_linear = orig_fwd, orig_plain

rows = list(fns)
print(f"{'M':>5} " + " ".join(f"{r:>18}" for r in rows) + "   (us per forward, median of 15 trials; p10-p90)")
with torch.no_grad():
    for m in ms:
        x = inputs[m]
        for r in rows:
            err = ((fns[r](x).float() - refs[m].float()).norm() / refs[m].float().norm()).item()
            assert err < 2e-2, (r, m, err)
        res = {r: [] for r in rows}
        for t in range(15):
            for r in trial_order(rows, t):
                for _ in range(3):
                    fns[r](x)
                res[r].append(eb.time_calls(fns[r], x, 200, "cuda") * 1e3)
        cells = []
        for r in rows:
            s = sorted(res[r])
            cells.append(f"{statistics.median(s):7.1f} ({s[1]:.1f}-{s[-2]:.1f})")
        base = statistics.median(res["compiled"])
        print(f"{m:5d} " + " ".join(f"{c:>18}" for c in cells) + "   x: " +
              " ".join(f"{base / statistics.median(res[r]):.3f}" for r in rows[1:]))

if PDL:
    from collections import defaultdict
    x = inputs[128]
    for r in rows:
        with torch.no_grad(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(20):
                fns[r](x)
            torch.cuda.synchronize()
        agg = defaultdict(lambda: [0, 0.0])
        for e in prof.events():
            if e.device_type == torch.autograd.DeviceType.CUDA:
                a = agg[e.name[:80]]
                a[0] += 1
                a[1] += e.device_time
        print(f"== {r} at M=128: {sum(v[1] for v in agg.values()) / 20:.1f} us of kernels per forward")
        for k, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
            print(f"  {n / 20:4.1f}x {t / 20:8.2f} us  {k}")
