#!/usr/bin/env python
"""A Llama-3.1-8B decoder layer (transformers, random bf16 weights): eager vs eager-patched, and plain
AOTInductor vs AOTInductor + bundle, at M = 1, 16, 128, 2048, in one table with bundle hits per row.

    python bench/epilogue_block.py BUNDLE.agb [--out bench/results/epilogue_block.json]
    python bench/epilogue_block.py --smoke [--aoti]        # tiny config on the CPU (CI checks this mode)

The layer is transformers' LlamaDecoderLayer built from examples/hf/llama-3.1-8b-config.json
(sdpa attention), fed M sequences of one token ([M, 1, 4096]; rotary position fixed; no KV
cache): every GEMM sees M rows, as in a decode step of M sequences (M = 2048: a prefill-sized
GEMM). Rows:
  eager           the unpatched layer
  eager-patched   aotgemm.runtime.patch: the MLP as one swiglu GEMM on [gate; up] (+ down), q/k/v as one
                  GEMM on [q; k; v], both residual adds in o_proj's and down_proj's GEMMs (where the
                  bundle has those epilogues), every other Linear it holds through aotgemm_linear
  aoti            torch._inductor.aoti_compile_and_package of the exported layer (M dynamic)
  aoti-bundle     aotgemm.aoti.compile: epilogues the bundle has kernels for folded into the fused
                  ops (swiglu, residual add), the other covered GEMMs routed, the rest Inductor's
With --compiled, four more rows, each torch.compile (Inductor, default mode, static M) replayed on the GPU
from a CUDA graph of one forward (decode servers replay graphs; without one the host paces a layer at
small M, and no launch could overlap its predecessor):
  compiled / compiled-patched           the layer / the patched layer
  compiled-pdl / compiled-pdl-patched   the same with Inductor's programmatic dependent launch
                  (triton.enable_pdl, TORCHINDUCTOR_ENABLE_PDL=1): its Triton kernels launch with PDL,
                  wait before reading what the kernel before them wrote, and release their dependents
                  once their loads are issued. The bundle's kernels are PDL launches too (most request
                  their first weight tiles before their own wait), so a Triton kernel before one (RMSNorm,
                  SwiGLU) may overlap it; how far cuBLAS's kernels take part is what the rows show.
                  `pdl_sites` counts the gdc_launch_dependents calls in the generated code.
Timing: CUDA events around `reps` back-to-back calls, trials of the four interleaved, medians
(and the p10-p90 spread) per call. Hits: the op's stats (eager-patched) or the shim's counters
(aoti-bundle) over one forward, after warm-up. Each row's output is checked against the eager
layer (relative Frobenius error). AOTInductor packages are built with CXX (default /usr/bin/g++).

On the H200 host (no package index): transformers and its pure-Python dependencies are staged as
cp312 wheels in .gpu/whl-tf (numpy, rich and torch are the host's), e.g.
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl
    PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ python3 bench/epilogue_block.py BUNDLE.agb --out $OUT/block.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "examples" / "hf" / "llama-3.1-8b-config.json"
SMOKE = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
             vocab_size=100, num_hidden_layers=1)
MS = (1, 16, 128, 2048)
SMOKE_MS = (1, 5, 16)
ROWS = ("eager", "eager-patched", "aoti", "aoti-bundle")
COMPILED_ROWS = ("compiled", "compiled-patched", "compiled-pdl", "compiled-pdl-patched")
# The ratios the table prints: (row, its baseline).
RATIOS = (("eager-patched", "eager"), ("aoti-bundle", "aoti"), ("compiled-patched", "compiled"),
          ("compiled-pdl-patched", "compiled-pdl"), ("compiled-pdl-patched", "compiled"))
POSITION = 7  # the rotary position of every token (any fixed value)


def build_layer(smoke: bool, device: str, seed: int = 0):
    """(module taking hidden [M, 1, H], hidden size, the config): LlamaDecoderLayer with random weights."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    cfg = json.loads(CONFIG.read_text())
    if smoke:
        cfg.update(SMOKE)
    config = LlamaConfig(**cfg)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    with torch.device(device):
        layer = LlamaDecoderLayer(config, layer_idx=0).to(torch.bfloat16).eval()
        rope = LlamaRotaryEmbedding(config)
        probe = torch.zeros(1, 1, config.hidden_size, dtype=torch.bfloat16)
        cos, sin = rope(probe, torch.full((1, 1), POSITION, dtype=torch.long))
    for p in layer.parameters():
        p.requires_grad_(False)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer
            self.register_buffer("cos", cos.to(torch.bfloat16))
            self.register_buffer("sin", sin.to(torch.bfloat16))

        def forward(self, hidden):
            out = self.layer(hidden, position_embeddings=(self.cos, self.sin))
            return out[0] if isinstance(out, tuple) else out

    return Block().eval(), config.hidden_size, cfg


def _sync(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def time_calls(fn, x, reps: int, device: str) -> float:
    """ms per call over `reps` back-to-back calls."""
    import torch

    if device == "cuda":
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(reps):
            fn(x)
        b.record()
        b.synchronize()
        return a.elapsed_time(b) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(x)
    return (time.perf_counter() - t0) * 1e3 / reps


def _hits(row: str, fn, x, device: str) -> dict | None:
    """Bundle hits and misses of one forward."""
    if row == "eager-patched":
        import aotgemm.runtime as rt

        rt.reset_stats()
        fn(x)
        _sync(device)
        s = rt.stats()
        return {"hits": s.total_hits, "misses": s.total_misses, "by_reason": s.by_reason(),
                "fused": sorted({e for (e, *_rest) in s.epilogues})}
    if row == "aoti-bundle":
        import aotgemm.aoti as aoti

        aoti.reset_counters()
        fn(x)
        _sync(device)
        c = aoti.counters()
        return {"hits": c["hits"], "misses": c["misses"], "by_reason": aoti.by_reason()}
    return None


def _rel(y, ref) -> float:
    return ((y.float() - ref.float()).norm() / ref.float().norm().clamp_min(1e-12)).item()


def _compile_aoti(model, example, bundle, work: Path, smoke: bool, log) -> dict:
    """The two packages: plain (torch's own API) and with the bundle (aotgemm.aoti.compile)."""
    import torch

    import aotgemm.aoti as aoti
    from torch.export import Dim

    # The GPU host's .pt2 packages segfault at load unless built with the distro g++ (shared/NOTES.md);
    # Inductor reads $CXX once, at import, so the compiler is passed explicitly.
    cxx = os.environ.get("CXX") or "/usr/bin/g++"
    out = {}
    t0 = time.perf_counter()
    ep = torch.export.export(model, (example,), dynamic_shapes=({0: Dim("m", min=1, max=1 << 16)},))
    plain = torch._inductor.aoti_compile_and_package(ep, package_path=str(work / "plain.pt2"),
                                                     inductor_configs={"cpp.cxx": (None, cxx)})
    out["aoti"] = torch._inductor.aoti_load_package(plain)
    log(f"plain AOTInductor package: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    pkg = aoti.compile(model, (example,), bundle, work / "bundle.pt2", cxx=cxx)
    routed = aoti.package_info(pkg).routed
    out["aoti-bundle"] = aoti.load(pkg, strict=not smoke)
    out["routed"] = [f"{r.node}:{r.epilogue}:{r.n}x{r.k}" for r in routed]
    log(f"AOTInductor + bundle package: {time.perf_counter() - t0:.1f} s, routed {len(routed)}: {out['routed']}")
    return out


class _GraphedForward:
    """A compiled forward replayed from CUDA graphs, one per M, each captured on that M's input tensor."""

    def __init__(self, fn, inputs: dict) -> None:
        import torch

        self.graphs, self.outs, self.ptrs = {}, {}, {}
        for m, x in inputs.items():
            for _ in range(2):  # warm-up outside the graph (Triton autotuning, lazy module loads)
                fn(x)
            torch.cuda.synchronize()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                self.outs[m] = fn(x)
            self.graphs[m], self.ptrs[m] = g, x.data_ptr()

    def __call__(self, x):
        m = x.shape[0]
        if self.ptrs.get(m) != x.data_ptr():
            raise ValueError(f"no graph was captured on this input (M={m}): replay reads the captured tensor")
        self.graphs[m].replay()
        return self.outs[m]


def _compile_rows(model, patched, inputs: dict, device: str, log) -> tuple[dict, dict]:
    """The COMPILED_ROWS (graphed on the GPU), and per row: bundle hits of one forward per M (patched rows)
    and the gdc_launch_dependents calls in Inductor's generated code (`pdl_sites`)."""
    from unittest import mock

    import torch
    from torch._inductor.graph import GraphLowering

    import aotgemm.runtime as rt

    from aotgemm.timing import allow_recompiles, require_inductor_pdl

    require_inductor_pdl(torch)
    fns, info = {}, {}
    # All four rows compile the same forward (one Dynamo cache, one entry per row and M); past the default
    # limit of 8 Dynamo would run the rest eagerly.
    allow_recompiles(torch)
    for row in COMPILED_ROWS:
        t0 = time.perf_counter()
        # Without the FX graph cache every compile generates its code, which pdl_sites reads (what
        # torch._inductor.utils.run_and_get_code captures, without its Dynamo reset of the other rows).
        fn = torch.compile(patched if "patched" in row else model, dynamic=False,
                           options={"triton.enable_pdl": "pdl" in row, "fx_graph_cache": False})
        code, hits = [], {}
        with torch.no_grad():
            for m, x in inputs.items():
                rt.reset_stats()
                with mock.patch.object(GraphLowering, "save_output_code", code.append):
                    fn(x)  # compiles for this M, then runs once
                _sync(device)
                s = rt.stats()
                hits[m] = {"hits": s.total_hits, "misses": s.total_misses, "by_reason": s.by_reason(),
                           "fused": sorted({e for (e, *_rest) in s.epilogues})}
            fns[row] = _GraphedForward(fn, inputs) if device == "cuda" else fn
        sites = sum(c.count("gdc_launch_dependents()") for c in code)
        if not code:
            raise RuntimeError(f"{row}: Inductor generated no code to read (was the compile cached?)")
        info[row] = {"hits": hits if "patched" in row else None, "pdl_sites": sites}
        log(f"{row}: compiled for M in {list(inputs)} in {time.perf_counter() - t0:.1f} s; its {len(code)} "
            f"generated modules call gdc_launch_dependents {sites} times")
    return fns, info


def smoke_bundle(work: Path, hidden: int, inter: int) -> Path:
    """A valid bundle (test library, H100 target) holding the tiny layer's shapes as a manifest lists them (q,
    k and v stacked, as patch and the AOTInductor rewrite merge them): on the CPU it loads in fallback (every
    call served by torch, counted); enough to run every path of this script."""
    from aotgemm.aoti import testing

    q = SMOKE["num_attention_heads"] * SMOKE["head_dim"]
    kv = SMOKE["num_key_value_heads"] * SMOKE["head_dim"]
    path = work / "smoke.agb"
    layers = [("qkv", q + 2 * kv, hidden), ("o", hidden, q), ("gate_up", 2 * inter, hidden),
              ("down", hidden, inter)]
    testing.make_bundle(path, layers, epilogues=("identity", "residual_add", "swiglu"))
    return path


def run(args) -> dict:
    import torch

    device = "cpu" if args.smoke else "cuda"
    ms = SMOKE_MS if args.smoke else tuple(args.m)
    log = (lambda s: print(f"[{time.perf_counter() - T0:6.1f} s] {s}", file=sys.stderr, flush=True))
    work = Path(tempfile.mkdtemp(prefix="aotgemm-epilogue-block-"))
    model, hidden, cfg = build_layer(args.smoke, device)
    bundle = Path(args.bundle) if args.bundle else smoke_bundle(work, hidden, cfg["intermediate_size"])
    gen = torch.Generator(device=device).manual_seed(1)
    inputs = {m: torch.randn(m, 1, hidden, generator=gen, device=device, dtype=torch.bfloat16) for m in ms}
    fns = {"eager": model}
    routed = None
    if (not args.smoke and not args.no_aoti) or (args.smoke and args.aoti):
        compiled = _compile_aoti(model, inputs[max(max(ms), 2)] if max(ms) >= 2 else torch.randn(
            2, 1, hidden, device=device, dtype=torch.bfloat16), bundle, work, args.smoke, log)
        routed = compiled.pop("routed")
        fns.update(compiled)
    with torch.no_grad():
        refs = {m: model(x) for m, x in inputs.items()}
    # A copy to patch (the packages were exported from the unpatched layer, which stays the eager row).
    import aotgemm.runtime as rt
    from aotgemm.timing import trial_order

    patched = copy.deepcopy(model)
    loaded = rt.load(bundle, strict=not args.smoke)
    patched_mods = rt.patch(patched)
    log(f"patched: {patched_mods}")
    fns["eager-patched"] = patched
    compiled_info = {}
    if args.compiled:
        compiled_fns, compiled_info = _compile_rows(model, patched, inputs, device, log)
        fns.update(compiled_fns)
    rows = [r for r in ROWS + COMPILED_ROWS if r in fns]
    results = []
    with torch.no_grad():
        for m in ms:
            x = inputs[m]
            res = {}
            for row in rows:
                y = fns[row](x)
                _sync(device)
                hits = compiled_info[row]["hits"][m] if row in compiled_info and compiled_info[row]["hits"] \
                    else _hits(row, fns[row], x, device)
                res[row] = {"rel_err": _rel(y, refs[m]), "hits": hits, "ms": []}
            for t in range(args.trials):  # interleaved in trial_order (a balanced Latin square)
                for row in trial_order(rows, t):
                    for _ in range(args.warmup):
                        fns[row](x)
                    res[row]["ms"].append(time_calls(fns[row], x, args.reps, device))
            for row in rows:
                t = sorted(res[row]["ms"])
                res[row].update(median_ms=statistics.median(t), p10_ms=t[len(t) // 10],
                                p90_ms=t[min(len(t) - 1, (9 * len(t)) // 10)])
            results.append({"m": m, "rows": res})
            log(f"M={m}: " + ", ".join(f"{r} {res[r]['median_ms']:.3f} ms" for r in rows))
    return {
        "what": "Llama-3.1-8B decoder layer (transformers LlamaDecoderLayer, random bf16 weights), hidden [M, 1, H]",
        "smoke": args.smoke, "device": _device_name(device), "torch": torch.__version__,
        "transformers": __import__("transformers").__version__, "bundle": str(bundle),
        "bundle_fallback": loaded.fallback, "patched_modules": patched_mods, "aoti_routed": routed,
        "pdl_sites": {r: i["pdl_sites"] for r, i in compiled_info.items()},
        "reps": args.reps, "trials": args.trials, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "results": results,
    }


def _device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


def table(report: dict) -> str:
    """Per M and row: median ms (p10-p90), bundle hits, error against eager; then the speedups (RATIOS)."""
    present = report["results"][0]["rows"]
    rows = [r for r in ROWS + COMPILED_ROWS if r in present]
    lines = ["| M | row | ms per forward (p10-p90) | bundle hits | rel err vs eager |", "|---|---|---|---|---|"]
    for res in report["results"]:
        for row in rows:
            r, h = res["rows"][row], res["rows"][row]["hits"]
            hits = f"{h['hits']}/{h['hits'] + h['misses']}" if h else "-"
            lines.append(f"| {res['m']} | {row} | {r['median_ms']:.3f} ({r['p10_ms']:.3f}-{r['p90_ms']:.3f}) | "
                         f"{hits} | {r['rel_err']:.1e} |")
    ratios = [(a, b) for a, b in RATIOS if a in present and b in present]
    lines += ["", "| M | " + " | ".join(f"{b} / {a}" for a, b in ratios) + " |", "|---|" + "---|" * len(ratios)]
    for res in report["results"]:
        r = res["rows"]
        lines.append(f"| {res['m']} | " + " | ".join(f"{r[b]['median_ms'] / r[a]['median_ms']:.3f}x"
                                                     for a, b in ratios) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("bundle", nargs="?", help="the .agb bundle (required unless --smoke)")
    p.add_argument("--out", default=None, help="JSON output (written to a temp file, then renamed)")
    p.add_argument("--m", type=int, nargs="+", default=list(MS))
    p.add_argument("--reps", type=int, default=20, help="calls per timed trial")
    p.add_argument("--trials", type=int, default=15)
    p.add_argument("--warmup", type=int, default=2, help="untimed calls before each trial")
    p.add_argument("--smoke", action="store_true", help="tiny config on the CPU, a generated bundle (no GPU)")
    p.add_argument("--aoti", action="store_true", help="with --smoke: also build the two AOTInductor packages")
    p.add_argument("--compiled", action="store_true", help="also the four torch.compile rows (with and without "
                   "Inductor's PDL), CUDA-graphed on the GPU")
    p.add_argument("--no-aoti", action="store_true", help="eager rows only (about 2 of the 4 minutes are the "
                   "two AOTInductor compiles)")
    args = p.parse_args(argv)
    if args.smoke:
        args.reps, args.trials, args.warmup = min(args.reps, 2), min(args.trials, 3), min(args.warmup, 1)
    elif not args.bundle:
        p.error("a bundle path is required (or --smoke)")
    elif not Path(args.bundle).is_file():
        p.error(f"bundle {args.bundle} not found")
    report = run(args)
    text = table(report)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps({**report, "table": text}, indent=1))
        tmp.replace(out)
    print(text)
    return 0


T0 = time.perf_counter()
if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
