"""MXFP8 (scales = "mx", the scale_mx epilogue): manifest, the swizzled scale layout, the reference, the
sm_90a refusal, the runtime op's checks, and (marked build) a cross-compiled B200 bundle.

Nothing here runs an MXFP8 kernel: they need an sm_100a GPU, and so does torch._scaled_mm's MX form.
"""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aotgemm.compiler.plan import check_archs
from aotgemm.epilogues import (MX_BLOCK, SCALE_MX, epilogue, mx_scale_count, mx_scale_offset, mx_swizzle,
                               mx_unswizzle)
from aotgemm.errors import ManifestError, NoCandidates, UnsupportedInput, UnsupportedProblem
from aotgemm.gpus import gpu_model
from aotgemm.manifest import parse_manifest
from aotgemm.problem import GemmProblem
from aotgemm.timing import random_operands

ROOT = Path(__file__).resolve().parents[1]
E8M0 = torch.float8_e8m0fnu


def _manifest(scales_line='scales = "mx"', layer_extra="", k=1024, dtypes='["float8_e4m3fn"]', gpus='["B200"]'):
    return (f'[model]\nname = "mx"\n[build]\ngpus = {gpus}\ndtypes = {dtypes}\nm_buckets = [128]\n{scales_line}\n'
            f'[[layers]]\nname = "proj"\nn = 256\nk = {k}\n{layer_extra}\n')


# --- manifest -----------------------------------------------------------------------------------
def test_manifest_scales_mx_selects_scale_mx():
    m = parse_manifest(_manifest(), "m.toml")
    assert m.scales == "mx" and m.layers[0].scales == "mx"
    assert m.layers[0].problem("float8_e4m3fn").epilogue == SCALE_MX
    per_layer = parse_manifest(_manifest('scales = "row"', 'scales = "mx"'), "m.toml")
    assert per_layer.layers[0].problem("float8_e4m3fn").epilogue == SCALE_MX


@pytest.mark.parametrize("text, field, words", [
    (_manifest(k=1040), "layers[0].k", "not a multiple of 32"),
    (_manifest(dtypes='["bfloat16"]'), "build.scales", "applies only to float8_e4m3fn"),
    (_manifest('scales = "mxx"'), "build.scales", "did you mean 'mx'"),
])
def test_manifest_scales_mx_errors(text, field, words):
    with pytest.raises(ManifestError) as e:
        parse_manifest(text, "m.toml")
    msg = str(e.value)
    assert msg.startswith(f"m.toml: {field}: ") and words in msg and "\n" not in msg


def test_scale_mx_takes_only_fp8():
    with pytest.raises(UnsupportedProblem):
        GemmProblem("bfloat16", "linear", SCALE_MX, 256, 256)


# --- the swizzled layout --------------------------------------------------------------------------
def _torch_to_blocked():
    """torch's own to_blocked (torch/testing/_internal/common_quantized.py), read from its source: importing
    that module needs expecttest, which the test extra does not install."""
    try:
        from torch.testing._internal.common_quantized import to_blocked
        return to_blocked
    except ImportError:
        pass
    path = Path(torch.__file__).parent / "testing" / "_internal" / "common_quantized.py"
    if not path.exists():
        pytest.skip("torch's common_quantized.py (to_blocked) is not installed")
    tree = ast.parse(path.read_text())
    wanted = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("ceil_div", "to_blocked")]
    if len(wanted) != 2:
        pytest.skip("this torch has no to_blocked")
    scope = {"torch": torch}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), scope)
    return scope["to_blocked"]


@pytest.mark.parametrize("rows, k_blocks", [(1, 1), (128, 4), (300, 37), (77, 8), (256, 5)])
def test_swizzle_matches_torch_to_blocked(rows, k_blocks):
    to_blocked = _torch_to_blocked()
    values = torch.arange(1, rows * k_blocks + 1, dtype=torch.int32).reshape(rows, k_blocks)
    blocked = to_blocked(values).flatten()  # padding: zeros
    k = k_blocks * MX_BLOCK
    assert blocked.numel() == mx_scale_count(rows, k)
    ours = mx_swizzle(values, k, fill=0)
    assert torch.equal(ours, blocked)
    assert torch.equal(mx_unswizzle(ours, rows, k), values)
    assert int(blocked[mx_scale_offset(rows - 1, k_blocks - 1, k_blocks)]) == rows * k_blocks  # ints too


def test_swizzle_of_e8m0_scales_round_trips():
    per_block = (2.0 ** torch.randint(-3, 4, (77, 5)).float()).to(E8M0)
    flat = mx_swizzle(per_block, 5 * MX_BLOCK)
    assert flat.dtype == E8M0 and flat.numel() == 128 * 8
    assert torch.equal(mx_unswizzle(flat, 77, 5 * MX_BLOCK).float(), per_block.float())
    assert flat.float().max() <= 8 and (flat.float() == 1).sum() >= 128 * 8 - 77 * 5  # padding holds 1.0


def test_reference_is_the_per_block_dequantized_matmul():
    problem = GemmProblem("float8_e4m3fn", "linear", SCALE_MX, 64, 96)
    x, w, ops = random_operands(problem, 45, torch.Generator().manual_seed(1), device="cpu")
    sa = mx_unswizzle(ops["block_scale_a"], 45, 96).float()
    sb = mx_unswizzle(ops["block_scale_b"], 64, 96).float()
    assert len(set(sa.flatten().tolist())) > 1  # the scales differ by block, so a wrong layout shows
    naive = torch.zeros(45, 64)
    for c in range(96 // MX_BLOCK):
        blk = slice(c * MX_BLOCK, (c + 1) * MX_BLOCK)
        naive += (x[:, blk].float() @ w[:, blk].float().t()) * sa[:, c:c + 1] * sb[:, c].reshape(1, -1)
    ref = epilogue(SCALE_MX).reference(x, w, **ops)
    torch.testing.assert_close(ref, naive, rtol=1e-5, atol=1e-4)
    with pytest.raises(UnsupportedProblem, match="before the dot product"):
        epilogue(SCALE_MX).unfused(torch.zeros(45, 64), **ops)


# --- the sm_90a refusal -----------------------------------------------------------------------------
def test_mx_build_for_hopper_is_refused():
    m = parse_manifest(_manifest(gpus='["B200", "H200_SXM"]'), "m.toml")
    check_archs(m, [gpu_model("B200")])
    with pytest.raises(NoCandidates) as e:
        check_archs(m, [gpu_model("B200"), gpu_model("H200_SXM")])
    msg = str(e.value)
    assert "MXFP8" in msg and "Blackwell (sm_100a)" in msg and "H200_SXM is sm_90a" in msg and "--gpu B200" in msg
    assert "\n" not in msg


@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
def test_cli_mx_build_for_hopper_fails_in_one_line(tmp_path):
    (tmp_path / "m.toml").write_text(_manifest())
    r = subprocess.run([sys.executable, "-m", "aotgemm.cli", "build", str(tmp_path / "m.toml"), "--gpu", "H200_SXM",
                        "--no-tune", "--cache-dir", str(tmp_path / "c"), "-o", str(tmp_path / "o.agb")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode != 0 and not (tmp_path / "o.agb").exists()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a Blackwell (sm_100a) target" in lines[0], r.stderr


# --- runtime ------------------------------------------------------------------------------------------
def _mx_call(m=5, n=256, k=64):
    x = torch.zeros(m, k).to(torch.float8_e4m3fn)
    w = torch.zeros(n, k).to(torch.float8_e4m3fn)
    sa = torch.ones(mx_scale_count(m, k)).to(E8M0)
    sb = torch.ones(mx_scale_count(n, k)).to(E8M0)
    return x, w.t(), sa, sb


def test_scaled_mm_checks_mx_scales():
    from aotgemm.dispatch_rule import ScaleForm
    from aotgemm.runtime.scaled_mm import check_inputs

    x, mat2, sa, sb = _mx_call()
    assert check_inputs(x, mat2, sa, sb) is ScaleForm.MX and ScaleForm.MX.epilogue == SCALE_MX
    assert check_inputs(x, mat2, sa.reshape(128, -1), sb.reshape(256, -1)) is ScaleForm.MX  # to_blocked's 2-D
    with pytest.raises(UnsupportedInput, match=r"scale_a has 256 elements; MXFP8 scales for M=5, K=64 have 512"):
        check_inputs(x, mat2, sa[:256], sb)
    with pytest.raises(UnsupportedInput, match="scale_b has 2048 elements; MXFP8 scales for N=256, K=64 have 1024"):
        check_inputs(x, mat2, sa, torch.ones(2048).to(E8M0))
    with pytest.raises(UnsupportedInput, match="MXFP8 takes both in float8_e8m0fnu"):
        check_inputs(x, mat2, sa, torch.ones(1))
    with pytest.raises(UnsupportedInput, match="not a multiple of 32"):
        check_inputs(*_mx_call(k=48)[:2], torch.ones(512).to(E8M0), torch.ones(1024).to(E8M0))


def test_ffi_passes_e8m0_as_dlpack_code_14():
    from aotgemm.runtime.ffi import _dl_dtype

    assert _dl_dtype(E8M0) == (14, 8)


@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
@pytest.mark.parametrize("n,k", [(4096, 1024), (5120, 1280), (5120, 6912), (1792, 5120), (4096, 96)])
def test_mx_kernels_serve_every_k_a_manifest_allows(n, k):
    """Every K that is a multiple of 32 gets the 36 block-scaled B200 kernels, ranked: the registry is shown the
    scales flat, as the kernels take them (shaped [rows, K/32] it wanted K/32 a multiple of 32: K = 1280, the
    o projection of Qwen2.5-32B at TP 4, and 6912, its down, got none)."""
    from aotgemm.compiler.sources.cutlass_operators import CutlassOperatorsSource

    src, b200 = CutlassOperatorsSource(), gpu_model("B200")
    p = GemmProblem("float8_e4m3fn", "linear", SCALE_MX, n, k)
    specs = src.enumerate(p, b200)
    assert len(specs) == 36
    for m in (1, 4096):
        assert len(src.rank(p, b200, m, specs)) == 36, (n, k, m)


# --- a real cross-compile: one MXFP8 kernel for B200 -----------------------------------------------------
@pytest.mark.build
@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
def test_mx_bundle_for_b200_builds_and_inspects(tmp_path):
    from aotgemm.bundle import open_bundle

    # K = 1280: K/32 = 40 scales a row, which the registry refused while the scales it was shown were [rows, K/32]
    (tmp_path / "m.toml").write_text(_manifest(k=1280))
    out = tmp_path / "mx.agb"
    # --top-k 1 and one bucket: one kernel, one compile (CI time)
    r = subprocess.run([sys.executable, "-m", "aotgemm.cli", "build", str(tmp_path / "m.toml"), "--gpu", "B200",
                        "--no-tune", "--top-k", "1", "--cache-dir", str(tmp_path / "c"), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    b = open_bundle(out, verify_blobs=True)
    (t,) = b.index.targets
    assert (t.gpu, t.arch) == ("B200", "sm_100a") and b.index.layers[0].scales == "mx"
    (k,) = t.kernels
    assert (k.source, k.family, k.dtype, k.epilogue) == (
        "cutlass_operators", "PersistentDenseBlockScaledGemmOperator", "float8_e4m3fn", SCALE_MX)
    assert k.design_dict["call"].startswith("x,wt,out,block_scale_a,block_scale_b,stream")
    lib = b.blob(t.library)
    assert lib[:4] == b"\x7fELF" and f"__tvm_ffi_{k.symbol}".encode() in lib
    (d,) = t.dispatch
    assert (d.epilogue, d.n, d.k, d.m_bucket, d.kernel) == (SCALE_MX, 256, 1280, 128, k.symbol)
    shown = subprocess.run([sys.executable, "-m", "aotgemm.cli", "inspect", str(out)], capture_output=True,
                           text=True, cwd=ROOT, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "float8_e4m3fn -> bfloat16, scales mx" in shown.stdout, shown.stdout
    tile = "x".join(str(v) for v in k.design_dict["tile"])
    assert f"cutlass_operators {tile}" in shown.stdout, shown.stdout  # the chosen kernel of the layer's bucket
