"""The numbers gpus.py keeps per GPU model, read on the GPU at hand (torch only).

Copy bandwidth: device-to-device copies of 2 GiB, bytes read plus written.
bf16 rate: 8192^3 matmuls on random data. Medians of CUDA-event timings.
Max active clusters come from bench/gpu_facts.cu (nvcc), run beside this.
"""

import json
import statistics
import sys

import torch


def _median_ms(fn, reps=10):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3):
        fn()
    out = []
    for _ in range(reps):
        s.record()
        fn()
        e.record()
        e.synchronize()
        out.append(s.elapsed_time(e))
    return statistics.median(out)


def main() -> None:
    n = 1 << 30  # bf16 elements: 2 GiB
    a = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    b = torch.empty_like(a)
    ms = _median_ms(lambda: b.copy_(a))
    copy_gbps = 2 * 2 * n / (ms * 1e-3) / 1e9
    del a, b
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = _median_ms(lambda: x @ y)
    tflops = 2 * 8192**3 / (ms * 1e-3) / 1e12
    p = torch.cuda.get_device_properties(0)
    facts = {"device": p.name, "sms": p.multi_processor_count, "l2_bytes": p.L2_cache_size,
             "copy_gbps": round(copy_gbps), "bf16_tflops": round(tflops)}
    json.dump(facts, sys.stdout)
    print()


if __name__ == "__main__":
    main()
