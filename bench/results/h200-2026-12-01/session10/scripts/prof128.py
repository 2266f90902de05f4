"""Kernels of the compiled decoder layer at M = 128, unpatched vs patched (no bundle kernel serves M = 128)."""
import copy
import sys
from collections import defaultdict

import torch

sys.path.insert(0, "bench")
import epilogue_block as eb  # noqa: E402

import aotgemm.runtime as rt  # noqa: E402

model, hidden, cfg = eb.build_layer(False, "cuda")
patched = copy.deepcopy(model)
rt.load(sys.argv[1])
print("patched:", rt.patch(patched))
x = torch.randn(128, 1, hidden, device="cuda", dtype=torch.bfloat16)
from aotgemm.timing import allow_recompiles  # noqa: E402
allow_recompiles(torch)
for name, m in (("compiled", model), ("compiled-patched", patched)):
    fn = torch.compile(m, dynamic=False)
    with torch.no_grad():
        for _ in range(5):
            fn(x)
        torch.cuda.synchronize()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(20):
                fn(x)
            torch.cuda.synchronize()
    agg = defaultdict(lambda: [0, 0.0])
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            a = agg[e.name[:90]]
            a[0] += 1
            a[1] += e.device_time
    total = sum(v[1] for v in agg.values()) / 20
    print(f"== {name}: {total:.1f} us of kernels per forward")
    for k, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        print(f"  {n / 20:4.1f}x {t / 20:8.2f} us  {k}")
