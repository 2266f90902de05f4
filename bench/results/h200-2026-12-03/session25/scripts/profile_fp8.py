"""Session 25: run e4m3 probe kernels once each (for ncu), with fresh random fp8 operands and per-tensor scales;
with --mm, torch._scaled_mm once on the same operands after each.

  python profile_fp8.py OUTDIR SYMBOL:M[,SYMBOL:M...] [--mm]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

import decode_probe  # noqa: E402
import fp8_decode_probe as fp  # noqa: E402


def main(outdir: str, spec: str, mm: bool) -> None:
    import torch

    mod, designs = decode_probe._load(outdir)
    g = torch.Generator(device="cuda").manual_seed(3)
    for item in spec.split(","):
        sym, m = item.rsplit(":", 1)
        d, m = designs[sym], int(m)
        x, w = fp.random_fp8(m, d["k"], g), fp.random_fp8(d["n"], d["k"], g)
        sa, sb = fp.random_scales("tensor", m, d["n"], d["k"], g)
        out = torch.empty(m, d["n"], device="cuda", dtype=torch.bfloat16)
        e = {"sa": sa, "sb": sb, "sa_mm": sa.reshape(()), "sb_mm": sb.reshape(())}
        torch.cuda.synchronize()
        fp.kernel_call(mod[sym])(x, w, out, e)
        torch.cuda.synchronize()
        print(f"profiled {sym} M={m}", flush=True)
        if mm:
            fp.scaled_mm_call(x, w, out, e)
            torch.cuda.synchronize()
            print(f"profiled _scaled_mm N={d['n']} K={d['k']} M={m}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--mm" in sys.argv)
