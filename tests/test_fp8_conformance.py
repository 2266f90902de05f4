"""fp8 through both runtimes: aotgemm_scaled_mm (Python) and aoti_torch_cpu_aotgemm_scaled_mm (the C shim)
decide alike, count alike, and compute torch._scaled_mm's numbers.

The same table of calls (each scale form, M at bucket edges, cuBLAS and missing entries, a column-major W,
strided and unaligned scale_b, unaligned x rows, empty M) runs through the op on CPU tensors (a CPU
dispatch table whose kernels are Python functions) and through the CPU build of the shim (the test kernel
library's fp8 kernels, AOTGEMM_FLAG_CPU_KERNELS); plus the scale-form rule on plain values in both
languages.
"""

from __future__ import annotations

import ctypes
import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from conformance_helpers import assert_same_reasons, cpu_dispatch, reason_of, run_driver, set_reasons
from aotgemm.aoti import native, testing
from aotgemm.dispatch_rule import ScaleForm, scale_form

HERE = Path(__file__).resolve().parent
FP8 = torch.float8_e4m3fn
LAYERS = [("up", 256, 128), ("down", 128, 256), ("qkv", 384, 128)]
# "up": scale_tensor, scale_row and scale_rowwise kernels in every bucket but 16 (cuBLAS, every form); "down"
# has no scale_row or scale_rowwise entries at all, and no scale_tensor entry in bucket 1024; "qkv" has
# scale_rowwise entries only (a row-wise bundle's layer), which serve its scale_row form at M = 1.
SCALES = ("scale_tensor", "scale_row", "scale_rowwise")
CUBLAS = {("float8_e4m3fn", e, 256, 128, 16) for e in SCALES}
SKIP = {("float8_e4m3fn", e, 128, 256, b) for b in testing.TEST_BUCKETS for e in ("scale_row", "scale_rowwise")} | \
    {("float8_e4m3fn", "scale_tensor", 128, 256, 1024)} | \
    {("float8_e4m3fn", e, 384, 128, b) for b in testing.TEST_BUCKETS for e in ("scale_tensor", "scale_row")}


def _fp8(m, k, seed):
    return torch.arange(m * k, dtype=torch.float32).mul_(0.37 + seed).sin_().mul_(3).reshape(m, k).to(FP8)


def _f32(numel, seed, offset=0):
    return torch.arange(numel + offset, dtype=torch.float32).mul_(0.11 * seed).cos_().add_(1.5)[offset:]


def case_tensors(name: str):
    """(x, mat2, scale_a, scale_b) of case `name`: built identically in every process."""
    up, down, qkv = _fp8(256, 128, 1).t(), _fp8(128, 256, 2).t(), _fp8(384, 128, 6).t()
    sa, sb_up, sb_qkv = _f32(1, 3), _f32(256, 4), _f32(384, 4)
    table = {
        "tensor_m1": lambda: (_fp8(1, 128, 5), up, sa, _f32(1, 4)),
        "tensor_m17": lambda: (_fp8(17, 128, 5), up, sa, _f32(1, 4)),
        "tensor_0d": lambda: (_fp8(17, 128, 5), up, sa.reshape(()), _f32(1, 4).reshape(())),
        "tensor_m16_cublas": lambda: (_fp8(16, 128, 5), up, sa, _f32(1, 4)),
        "tensor_m3000": lambda: (_fp8(3000, 128, 5), up, sa, _f32(1, 4)),
        "row_m1": lambda: (_fp8(1, 128, 5), up, sa, sb_up),
        "row_m129": lambda: (_fp8(129, 128, 5), up, sa, sb_up),
        "row_2d": lambda: (_fp8(20, 128, 5), up, sa.reshape(1, 1), sb_up.reshape(1, 256)),
        "row_m2_cublas": lambda: (_fp8(2, 128, 5), up, sa, sb_up),
        "rowwise_m20": lambda: (_fp8(20, 128, 5), up, _f32(20, 3).reshape(20, 1), sb_up.reshape(1, 256)),
        "rowwise_m3000": lambda: (_fp8(3000, 128, 5), up, _f32(3000, 3).reshape(3000, 1), sb_up.reshape(1, 256)),
        "rowwise_m9_cublas": lambda: (_fp8(9, 128, 5), up, _f32(9, 3).reshape(9, 1), sb_up.reshape(1, 256)),
        "rowwise_no_entry": lambda: (_fp8(20, 256, 5), down, _f32(20, 3).reshape(20, 1), _f32(128, 4).reshape(1, 128)),
        "rowwise_a_strided": lambda: (_fp8(20, 128, 5), up, _f32(40, 3).reshape(20, 2)[:, :1], sb_up.reshape(1, 256)),
        "rowwise_a_unaligned": lambda: (_fp8(20, 128, 5), up, _f32(20, 3, offset=1).reshape(20, 1),
                                        sb_up.reshape(1, 256)),
        "rowwise_only_m1": lambda: (_fp8(1, 128, 5), qkv, _f32(1, 3).reshape(1, 1), sb_qkv.reshape(1, 384)),
        "rowwise_only_m1_flat": lambda: (_fp8(1, 128, 5), qkv, sa, sb_qkv),
        "rowwise_only_m1_a_unaligned": lambda: (_fp8(1, 128, 5), qkv, _f32(1, 3, offset=1).reshape(1, 1),
                                                sb_qkv.reshape(1, 384)),
        "rowwise_only_m20": lambda: (_fp8(20, 128, 5), qkv, _f32(20, 3).reshape(20, 1), sb_qkv.reshape(1, 384)),
        "rowwise_only_row_m2": lambda: (_fp8(2, 128, 5), qkv, sa, sb_qkv),
        "rowwise_only_tensor_m1": lambda: (_fp8(1, 128, 5), qkv, sa, _f32(1, 4)),
        "row_no_entry": lambda: (_fp8(20, 256, 5), down, sa, _f32(128, 4)),
        "tensor_no_entry_bucket": lambda: (_fp8(1000, 256, 5), down, sa, _f32(1, 4)),
        "tensor_down": lambda: (_fp8(100, 256, 5), down, sa, _f32(1, 4)),
        "w_column_major": lambda: (_fp8(20, 128, 5), _fp8(128, 256, 1), sa, _f32(1, 4)),
        "x_padded_rows": lambda: (_fp8(20, 144, 5)[:, :128], up, sa, _f32(1, 4)),
        "x_padded_rows_unaligned": lambda: (_fp8(20, 136, 5)[:, :128], up, sa, _f32(1, 4)),
        "scale_b_strided": lambda: (_fp8(20, 128, 5), up, sa, _f32(512, 4)[::2]),
        "scale_b_unaligned": lambda: (_fp8(20, 128, 5), up, sa, _f32(256, 4, offset=1)),
        "scale_a_unaligned_ok": lambda: (_fp8(20, 128, 5), up, _f32(1, 3, offset=1), sb_up),
        "empty_m": lambda: (_fp8(0, 128, 5), up, sa, _f32(1, 4)),
    }
    return table[name]()


EXPECTED = {
    "tensor_m1": "HIT", "tensor_m17": "HIT", "tensor_0d": "HIT", "tensor_m16_cublas": "CHOSE_CUBLAS",
    "tensor_m3000": "HIT", "row_m1": "HIT", "row_m129": "HIT", "row_2d": "HIT", "row_m2_cublas": "CHOSE_CUBLAS",
    "rowwise_m20": "HIT", "rowwise_m3000": "HIT", "rowwise_m9_cublas": "CHOSE_CUBLAS", "rowwise_no_entry": "NO_ENTRY",
    "rowwise_a_strided": "NON_CONTIGUOUS", "rowwise_a_unaligned": "UNALIGNED",
    # a row-wise-only layer: at M = 1 (scale_a of one value: the scale_row form) its scale_rowwise entry serves,
    # which indexes scale_a (so checks its alignment); not at M = 2, nor for per-tensor scales
    "rowwise_only_m1": "HIT", "rowwise_only_m1_flat": "HIT", "rowwise_only_m1_a_unaligned": "UNALIGNED",
    "rowwise_only_m20": "HIT", "rowwise_only_row_m2": "NO_ENTRY", "rowwise_only_tensor_m1": "NO_ENTRY", "row_no_entry": "NO_ENTRY", "tensor_no_entry_bucket": "NO_ENTRY",
    "tensor_down": "HIT", "w_column_major": "NON_CONTIGUOUS", "x_padded_rows": "HIT",
    "x_padded_rows_unaligned": "UNALIGNED", "scale_b_strided": "NON_CONTIGUOUS",
    "scale_b_unaligned": "UNALIGNED", "scale_a_unaligned_ok": "HIT", "empty_m": "EMPTY",
}
CASES = list(EXPECTED)


def reference(x, mat2, sa, sb):
    acc = x.float() @ mat2.float()
    return acc * (sa.reshape(-1, 1) if sa.numel() > 1 else sa.reshape(1, 1)) * sb.reshape(1, -1)


@pytest.fixture(scope="module")
def lib():
    return native.load_native()


@pytest.mark.parametrize("m, n, a, b", [
    (5, 32, (1,), (1,)), (5, 32, (), ()), (5, 32, (1,), (32,)), (5, 32, (1, 1), (1, 32)), (1, 32, (1, 1), (1, 32)),
    (5, 32, (5, 1), (1, 32)), (5, 32, (5,), (32,)), (5, 32, (1,), (31,)), (5, 32, (5, 1), (32,)),
    (5, 32, (1, 1, 1), (1, 1, 32)), (5, 32, (2,), (1,)), (0, 32, (0, 1), (1, 32)), (5, 1, (1,), (1, 1)),
])
def test_c_scale_form_equals_python(lib, m, n, a, b):
    c = ctypes.c_int64
    got = lib.aotgemm_aoti_scale_form(m, n, len(a), (c * max(1, len(a)))(*a), len(b), (c * max(1, len(b)))(*b))
    assert ScaleForm(got) is scale_form(m, n, a, b)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    lib_bytes = testing.build_cpu_kernel_library(tmp_path_factory.mktemp("kernels"))
    path = tmp_path_factory.mktemp("fp8") / "fp8.agb"
    testing.make_bundle(path, LAYERS, library=lib_bytes, dtypes=("float8_e4m3fn",), cublas=CUBLAS, skip=SKIP,
                        alignment=16, epilogues=SCALES, scales="tensor")
    return path


class PyKernel:
    """The test library's fp8 kernels in Python: fn(x, wt, out, scale_a [1] or [M], scale_b [1] or [N], stream)."""

    def __call__(self, a, wt, out, sa, sb, stream):
        assert stream == 0 and a.stride(1) == 1 and wt.stride(0) == 1 and sa.shape[0] in (1, a.shape[0])
        assert sa.stride() == sb.stride() == (1,)
        out.copy_((a.float() @ wt.float() * sa.reshape(-1, 1) * sb).to(out.dtype))


def run_python(bundle: Path, names) -> dict:
    out = {}
    with cpu_dispatch(bundle, lambda k: PyKernel(), name="fp8 conformance") as rt:
        for name in names:
            rt.reset_stats()
            x, mat2, sa, sb = case_tensors(name)
            y = rt.scaled_mm(x, mat2, sa, sb)
            s = rt.stats()
            assert s.total_hits + s.total_misses == 1
            reason = reason_of(s)
            ref = reference(x, mat2, sa, sb)
            err = ((y.float() - ref).norm() / ref.norm()).item() if y.numel() else 0.0
            out[name] = {"reason": reason, "err": err, "shape": list(y.shape), "dtype": str(y.dtype)}
    return out


SHIM_DRIVER = """
import ctypes, json, sys, torch
sys.path.insert(0, {tests!r})
import test_fp8_conformance as c
from aotgemm.aoti import native
from conformance_helpers import cpu_shim, handle, steal
lib = cpu_shim({package!r}, {cache!r})
shim = lib.aoti_torch_cpu_aotgemm_scaled_mm
shim.argtypes = [ctypes.c_void_p] * 4 + [ctypes.POINTER(ctypes.c_void_p)]
shim.restype = ctypes.c_int32
out = {{}}
for name in json.loads({names!r}):
    tensors = c.case_tensors(name)
    before = native.counters(lib)
    hs = [handle(t) for t in tensors]
    ret = ctypes.c_void_p()
    rc = shim(*hs, ctypes.byref(ret))
    assert rc == 0, (name, lib.aotgemm_aoti_last_error())
    y = steal(ret.value)
    for h in hs:
        steal(h)
    after = native.counters(lib)
    moved = sorted(k for k in after if after[k] != before[k])
    ref = c.reference(*tensors)
    err = ((y.float() - ref).norm() / ref.norm()).item() if y.numel() else 0.0
    out[name] = {{"moved": moved, "err": err, "shape": list(y.shape), "dtype": str(y.dtype)}}
print(json.dumps(out))
"""


def run_shim(bundle: Path, names, tmp_path: Path) -> dict:
    pkg = testing.make_stub_package(tmp_path / "stub.pt2", bundle)
    code = SHIM_DRIVER.format(tests=str(HERE), package=str(pkg), cache=str(tmp_path / "cache"),
                              names=json.dumps(list(names)))
    return set_reasons(run_driver(code))


def test_same_decision_counter_and_numbers_for_every_fp8_case(bundle, tmp_path):
    py = run_python(bundle, CASES)
    cc = run_shim(bundle, CASES, tmp_path)
    table = assert_same_reasons(EXPECTED, py, cc, CASES)
    for name in CASES:
        x, mat2, _, _ = case_tensors(name)
        assert py[name]["shape"] == cc[name]["shape"] == [x.shape[0], mat2.shape[1]], name
        assert py[name]["dtype"] == cc[name]["dtype"] == "torch.bfloat16", name
        assert py[name]["err"] < 1e-2 and cc[name]["err"] < 1e-2, (name, py[name]["err"], cc[name]["err"])
    assert Counter(v[0] for v in table.values()).keys() >= {"HIT", "CHOSE_CUBLAS", "NO_ENTRY", "NON_CONTIGUOUS",
                                                            "UNALIGNED", "EMPTY"}
