"""Session 21 call D: how fast can the H200 read? torch's reductions (sum, amax) over 2 GiB of bf16, and the copy
that bench's floor uses, each timed with CUDA events over 10 calls, median of 15 rounds after 3 untimed ones.
Compared with the fastest weight stream of our kernels (Qwen3-4B's lm_head, 4643 GB/s in call C)."""
import statistics

import torch

x = torch.randn(2**30, device="cuda", dtype=torch.bfloat16)  # 2 GiB
y = torch.empty_like(x)
ops = {"sum (read)": lambda: x.sum(), "amax (read)": lambda: x.amax(), "copy (read + write)": lambda: y.copy_(x)}
moved = {"sum (read)": x.nbytes, "amax (read)": x.nbytes, "copy (read + write)": 2 * x.nbytes}
print(torch.cuda.get_device_name(0), torch.__version__)
for name, op in ops.items():
    times = []
    for r in range(18):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(10):
            op()
        b.record()
        b.synchronize()
        if r >= 3:
            times.append(a.elapsed_time(b) / 10 * 1e-3)
    t = statistics.median(times)
    print(f"{name:22s} {t * 1e6:9.1f} us  {moved[name] / t / 1e9:7.0f} GB/s  (spread {(max(times) - min(times)) / t:.1%})")
