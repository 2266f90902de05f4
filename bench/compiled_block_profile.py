"""Where the GPU time of a compiled, patched Llama-3.1-8B decoder layer goes, kernel by kernel, against the compiled
unpatched layer: the layer of bench/epilogue_block.py under torch.compile (static M), each forward replayed from a
CUDA graph, profiled with torch.profiler over `--reps` replays.

    python3 bench/compiled_block_profile.py TUNED_BUNDLE [--m 128 16] [--reps 20]

Why: session 42's epilogue_block run had the compiled patched layer at 0.297x of the compiled layer at M = 128
(0.614 against 0.182 ms a forward, both replayed from CUDA graphs), where session 10 had 0.993x; at M = 1, 16 and
2048 it was 1.07x-1.28x. Prints, per M and row, the CUDA kernels by total time (top 12), and the patched row's
bundle hits and misses.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import epilogue_block as eb  # noqa: E402  (bench/, this script's folder)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--m", type=int, nargs="+", default=[128, 16])
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    import aotgemm.runtime as rt
    from aotgemm.timing import allow_recompiles

    allow_recompiles(torch)
    model, hidden, _ = eb.build_layer(False, "cuda")
    patched = copy.deepcopy(model)
    rt.load(a.bundle)
    print("patched:", rt.patch(patched))
    gen = torch.Generator(device="cuda").manual_seed(1)
    inputs = {m: torch.randn(m, 1, hidden, generator=gen, device="cuda", dtype=torch.bfloat16) for m in a.m}
    with torch.no_grad():
        for row, mod in (("compiled", model), ("compiled-patched", patched)):
            fn = torch.compile(mod, dynamic=False)
            for m, x in inputs.items():
                rt.reset_stats()
                fn(x)
                torch.cuda.synchronize()
                s = rt.stats()
                graphed = eb._GraphedForward(fn, {m: x})
                for _ in range(5):
                    graphed(x)
                torch.cuda.synchronize()
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(a.reps):
                    graphed(x)
                end.record()
                end.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(a.reps):
                        graphed(x)
                    torch.cuda.synchronize()
                print(f"\n== {row} M={m}: {start.elapsed_time(end) / a.reps * 1e3:.1f} us a forward (graph replay)")
                if row.endswith("patched"):
                    print(f"   hits {s.total_hits}, misses {s.total_misses} {s.by_reason()}, fused "
                          f"{sorted({e for (e, *_r) in s.epilogues})}")
                    for key, count in sorted(s.hits.items(), key=str):
                        print("   hit ", key, count)
                    for key, count in sorted(s.misses.items(), key=str):
                        print("   miss", key, count)
                table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=90)
                print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
