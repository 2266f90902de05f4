#!/usr/bin/env python
"""Serve a transformers model's GEMMs from an aotgemm bundle: load, patch, generate, and see what was served.

    aotgemm manifest from-hf examples/hf/llama-3.1-8b-config.json -o llama.toml       # any machine
    aotgemm build llama.toml --gpu H200_SXM -o llama.agb                               # tunes on an H200
    python examples/hf/patch_and_generate.py llama.agb --config examples/hf/llama-3.1-8b-config.json --layers 4
    python examples/hf/patch_and_generate.py --smoke     # a tiny model on the CPU, a generated bundle (fallback)
    python examples/hf/patch_and_generate.py --smoke --config examples/hf/gemma-2-9b-config.json   # its architecture

The model is built from the config with random weights and `--layers` decoder layers (a checkpoint loads the
same way with from_pretrained; only the layer count changes what is timed). `aotgemm.runtime.patch` merges its
q/k/v (and an exact-GELU MLP's gate/up) projections into the GEMMs the manifest lists, fuses the gated MLPs
(SwiGLU; Gemma's GeGLU) and both residual adds of each decoder layer (where the layer adds them), and routes
the other nn.Linear layers the bundle holds. The script checks the prompt's logits against the unpatched model's (relative error under 2e-2), generates greedily with both
(how long their tokens agree), then prints what was served (`rt.stats()`) and the
GEMM layers no kernel of the bundle serves (`rt.unserved(model)`) with why.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# --smoke: the config's architecture (its model_type, activation, norms...) at these sizes
TINY = dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            vocab_size=128, num_hidden_layers=2, pad_token_id=0, bos_token_id=1, eos_token_id=2)


def tiny_bundle(cfg: dict, work: Path) -> Path:
    """A valid bundle for `cfg`'s manifest (from-hf's layers and epilogues), with the test kernel library:
    on the CPU it loads in fallback, every call served by torch and counted."""
    from aotgemm.aoti import testing
    from aotgemm.hf import manifest_from_hf_config

    manifest = manifest_from_hf_config(cfg, tp=1)
    path = work / "tiny.agb"
    testing.make_bundle(path, [(layer.name, layer.n, layer.k) for layer in manifest.layers],
                        epilogues=sorted({layer.epilogue for layer in manifest.layers} | {"identity"}))
    return path


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", nargs="?", type=Path, help="the .agb bundle (required unless --smoke)")
    ap.add_argument("--config", type=Path, default=HERE / "llama-3.1-8b-config.json")
    ap.add_argument("--layers", type=int, default=2, help="decoder layers to build (random weights)")
    ap.add_argument("--tokens", type=int, default=8, help="tokens to generate")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--smoke", action="store_true",
                    help="the config's architecture at tiny sizes, on the CPU, with a generated bundle")
    args = ap.parse_args(argv)
    if not args.smoke and args.bundle is None:
        ap.error("a bundle path is required (or --smoke)")

    import torch
    import transformers

    import aotgemm.runtime as rt

    device = "cpu" if args.smoke else "cuda"
    cfg = json.loads(args.config.read_text())
    cfg = {**cfg, **TINY} if args.smoke else {**cfg, "num_hidden_layers": args.layers}
    with tempfile.TemporaryDirectory() as work:
        bundle = tiny_bundle(cfg, Path(work)) if args.smoke else args.bundle
        loaded = rt.load(bundle, strict=not args.smoke)
    config = transformers.AutoConfig.for_model(**cfg)
    torch.manual_seed(0)
    with torch.device(device):  # initialised where it runs (an 8B-wide layer's random init is slow on the host)
        model = transformers.AutoModelForCausalLM.from_config(config).to(torch.bfloat16).eval()
    reference = copy.deepcopy(model)  # never patched: what the model gives without aotgemm

    names = rt.patch(model)
    print(f"{loaded.path.name}: patched {len(names)} modules of a {args.layers if not args.smoke else 2}-layer "
          f"{type(model).__name__}")
    ids = torch.randint(0, config.vocab_size, (args.batch, 6), device=device,
                        generator=torch.Generator(device=device).manual_seed(1))
    kw = dict(max_new_tokens=args.tokens, do_sample=False, attention_mask=torch.ones_like(ids), pad_token_id=0)
    with torch.no_grad():
        want, ref_logits = reference.generate(ids, **kw), reference(ids).logits.float()
        rt.reset_stats()
        got = model.generate(ids, **kw)
        err = ((model(ids).logits.float() - ref_logits).norm() / ref_logits.norm()).item()
    # Other kernels round differently: the logits agree to bf16's precision, and greedy decoding of random
    # weights (near-uniform logits) can take another token where two are within that.
    ok = err < 2e-2
    same = int((got == want).all(dim=0).long().cumprod(0).sum()) - ids.shape[1]
    print(f"prompt logits against the unpatched model's: relative error {err:.1e} ({'ok' if ok else 'TOO LARGE'}); "
          f"greedy tokens the same for the first {same} of {args.tokens}")
    s = rt.stats()
    print(f"GEMM calls: {s.total_hits} served by bundle kernels, {s.total_misses} by torch "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(s.by_reason().items())) or 'none'})")
    left = rt.unserved(model)
    print(f"GEMM layers no kernel serves: {len(left)}")
    for u in left:
        print(f"  {u.name}: {u.dtype} N={u.n} K={u.k}: {u.reason}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
