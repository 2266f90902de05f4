"""cutlass.operators' sm_100a EFC class: fused bias and residual_add kernels for B200 (compile-only), and the
bundle's call convention over the class's own entry (which takes the stream before the epilogue operands)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from aotgemm.problem import GemmProblem

ROOT = Path(__file__).resolve().parents[1]
needs_dsl = pytest.mark.skipif(importlib.util.find_spec("cutlass") is None,
                               reason="needs the [build] extra (CuTe DSL, cutlass.operators)")


def test_efc_launcher_passes_the_bundle_call_convention_in_the_efc_entry_order():
    from aotgemm.compiler.sources.cutlass_operators import _efc_launcher

    calls = []

    def impl(*args):  # the EFC kernel's entry: (a, b, max_active_clusters, stream, *operands, D)
        calls.append(args)

    _efc_launcher(impl, 74, 0)("x", "wt", "out", "stream")
    _efc_launcher(impl, 74, 1)("x", "wt", "out", "bias", "stream")
    assert calls == [("x", "wt", 74, "stream", "out"), ("x", "wt", 74, "stream", "bias", "out")]
    with pytest.raises(Exception, match="2 epilogue operands"):
        _efc_launcher(impl, 74, 2)


@needs_dsl
def test_b200_fuses_bias_and_residual_add_and_hopper_none(tmp_path):
    from aotgemm.compiler.sources.cutlass_operators import EFC_CLASS, CutlassOperatorsSource, fuses
    from aotgemm.gpus import gpu_model

    src = CutlassOperatorsSource()
    b200, h200 = gpu_model("B200"), gpu_model("H200_SXM")
    assert fuses("bias", "sm_100a") and fuses("residual_add", "sm_100a") and not fuses("swiglu", "sm_100a")
    assert not fuses("bias", "sm_90a") and not fuses("scale_tensor", "sm_100a")
    for name in ("bias", "residual_add"):
        p = GemmProblem("bfloat16", "linear", name, 1024, 512)
        specs = src.enumerate(p, b200)
        assert specs and all(s.family == EFC_CLASS and s.epilogue == name and s.serves(p) for s in specs)
        assert all(s.design_dict["call"] == "x,wt,out,operands,stream" for s in specs)
        assert src.enumerate(p, h200) == []
        ranked = src.rank(p, b200, 16, specs)
        assert ranked and set(ranked) <= set(specs)
        obj = tmp_path / f"{name}.o"
        src.compile(ranked[0], f"aotgemm_efc_{name}", str(obj))
        assert obj.stat().st_size > 10_000
    assert src.enumerate(GemmProblem("bfloat16", "linear", "swiglu", 1024, 512), b200) == []


@needs_dsl
@pytest.mark.build
def test_a_b200_build_of_fused_layers_holds_efc_kernels(tmp_path):
    """A manifest with bias and residual_add layers, built for B200 (compile-only) from cutlass_operators
    alone: every bucket is served by an EFC kernel of that epilogue (before, such layers failed the build)."""
    from aotgemm.bundle import CUBLAS, open_bundle

    manifest = tmp_path / "fused.toml"
    manifest.write_text('[model]\nname = "efc"\n\n[build]\ngpus = ["B200"]\ndtypes = ["bfloat16"]\nm_buckets = [16]\n\n'
                        '[[layers]]\nname = "proj"\nn = 1024\nk = 512\nepilogue = "bias"\n\n'
                        '[[layers]]\nname = "down"\nn = 512\nk = 1024\nepilogue = "residual_add"\n')
    out = tmp_path / "efc.agb"
    r = subprocess.run([sys.executable, "-m", "aotgemm.cli", "build", str(manifest), "--gpu", "B200", "--no-tune",
                        "--top-k", "1", "--sources", "cutlass_operators", "--cache-dir", str(tmp_path / "cache"),
                        "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    (t,) = open_bundle(out).index.targets
    kernels = {k.symbol: k for k in t.kernels}
    assert {e.epilogue for e in t.dispatch} == {"bias", "residual_add"}
    for e in t.dispatch:
        assert e.kernel != CUBLAS, e
        k = kernels[e.kernel]
        assert (k.source, k.epilogue) == ("cutlass_operators", e.epilogue)
