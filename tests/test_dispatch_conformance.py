"""One dispatch rule, two languages: aotgemm.runtime (Python) and libaotgemm_aoti (C++) decide alike.

The rule and its reasons are written once (aotgemm/dispatch_rule.py); the C++ shim gets its
constants from the generated aotgemm/native/aotgemm_rule.h and ports `decide` check for check
(aotgemm/native/dispatch.cpp). Here:

- the generated header is current (regenerating it gives the same bytes);
- the two `decide`s agree on a grid of plain values (every check, and each at its edge), and the
  two `rows` (x as [M, K] without a copy) on a set of shapes and strides;
- the same table of calls (layouts and strides, M at bucket edges and above the largest bucket,
  M above a kernel's max_m, missing and cuBLAS entries, unaligned pointers and strides, empty M,
  a wrong dtype, fused and unfused bias) runs through the torch op on CPU tensors (a CPU dispatch
  table whose kernels are Python functions) and through the CPU build of the shim
  (aoti_torch_cpu_aotgemm_linear, called on the same tensors, with AOTGEMM_FLAG_CPU_KERNELS and a
  CPU TVM-FFI kernel library): each case must give the same reason, counted by the same counter,
  and the right numbers.
"""

from __future__ import annotations

import ctypes
import itertools
from collections import Counter
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conformance_helpers import assert_same_reasons, cpu_dispatch, reason_of, run_driver, set_reasons
from aotgemm.aoti import native, rule_header, testing
from aotgemm.dispatch_rule import COUNTERS, Device, Entry, Reason, decide, rows

HERE = Path(__file__).resolve().parent
bf16, f16 = torch.bfloat16, torch.float16
LAYERS = [("up", 256, 128), ("down", 128, 256), ("odd", 256, 36)]
BUCKETS = testing.TEST_BUCKETS  # (1, 16, 128, 1024)
# bucket 16 of "up" is cuBLAS (both epilogues); bucket 1024 of "down" has no entry; the bias problem of
# "up" has no entry in bucket 128 (served by the identity kernel plus an unfused add).
CUBLAS = {("bfloat16", "identity", 256, 128, 16), ("bfloat16", "bias", 256, 128, 16)}
SKIP = {("bfloat16", "identity", 128, 256, 1024), ("bfloat16", "bias", 128, 256, 1024),
        ("bfloat16", "bias", 256, 128, 128)}
MAX_M = {"bfloat16": 0, "float16": 1024}  # fp16 kernels serve M <= 1024 only
# the tuner split bucket 128 of "down": its kernel serves M >= 100 there, cuBLAS M = 17..99
MIN_M = {("bfloat16", "identity", 128, 256, 128): 100}


def test_generated_header_is_current():
    assert rule_header.HEADER_PATH.read_text() == rule_header.render(), \
        "aotgemm/native/aotgemm_rule.h is stale: run python -m aotgemm.aoti.rule_header"
    assert rule_header.main(["--check"]) == 0


def test_reasons_and_counters():
    assert [r.counter for r in Reason][:3] == ["hits", "miss_not_loaded", "miss_env_mismatch"]
    assert len(set(r.text for r in Reason)) == len(Reason) and Reason.from_text("above max_m") is Reason.ABOVE_MAX_M
    assert COUNTERS[:3] == ("calls", "hits", "misses") and len(COUNTERS) == len(Reason) + 2
    assert native.COUNTERS == COUNTERS


# --- the rule on plain values ----------------------------------------------------------------
@pytest.fixture(scope="module")
def lib():
    return native.load_native()


def _c_decide(lib, **kw) -> Reason:
    e = kw["entry"]
    ptrs = list(kw["pointers"])
    c = native.RuleInput(
        loaded=kw["loaded"], fallback=kw["fallback"], dtype_supported=kw["dtype_supported"], device=int(kw["device"]),
        m=kw["m"], n=kw["n"], k=kw["k"], entry=0 if e is None else (2 if e.kernel else 1),
        alignment=e.alignment if e else 1, max_m=e.max_m if e else 0,
        x_row_valid=kw["x_row"] is not None, x_row=kw["x_row"] or 0, w_stride0=kw["w_strides"][0],
        w_stride1=kw["w_strides"][1], operands_contiguous=kw["operands_contiguous"], n_pointers=len(ptrs),
        element_bytes=kw["element_bytes"], x_row_stride=e.x_row_stride if e else 0, min_m=e.min_m if e else 0)
    for i, p in enumerate(ptrs):
        c.pointers[i] = p
    return Reason(lib.aotgemm_aoti_decide(ctypes.byref(c)))


def _rule_grid():
    base = dict(loaded=True, fallback=False, dtype_supported=True, device=Device.SERVED, m=20, n=256, k=128,
                entry=Entry(True, 8, 0), x_row=128, w_strides=(128, 1), operands_contiguous=True,
                pointers=(4096, 8192), element_bytes=2)
    variants = {
        "loaded": [True, False], "fallback": [False, True], "dtype_supported": [True, False],
        "device": list(Device), "m": [0, 1, 2, 20, 1024, 1025], "n": [0, 256, 252], "k": [0, 128, 124, 1],
        "entry": [None, Entry(False), Entry(True, 8, 0), Entry(True, 8, 1024), Entry(True, 16, 0), Entry(True, 1, 20),
                  # a kernel compiled for x rows exactly K apart (a decode kernel specialised on K)
                  Entry(True, 8, 64, 128),
                  # tuned splits of the bucket (min_m): the kernel from M = 20 up, from 21 up, and from 1025 up
                  Entry(True, 8, 0, 0, 20), Entry(True, 8, 1024, 0, 21), Entry(True, 8, 0, 0, 1025)],
        "x_row": [None, 128, 136, 132, 64, 1], "w_strides": [(128, 1), (1, 256), (256, 1)],
        "operands_contiguous": [True, False], "pointers": [(4096, 8192), (4098, 8192), (4096, 8200), (4112, 8192, 6)],
        "element_bytes": [2, 4],
    }
    yield base
    for key, values in variants.items():  # each field through its values
        for v in values:
            yield {**base, key: v}
    # pairs of the fields that interact at the edges of the later checks
    late = ["m", "entry", "x_row", "w_strides", "pointers", "k"]
    for a, b in itertools.combinations(late, 2):
        for va, vb in itertools.product(variants[a], variants[b]):
            yield {**base, a: va, b: vb}


def test_c_decide_equals_python_decide(lib):
    cases = list(_rule_grid())
    assert len(cases) > 300
    seen = set()
    for kw in cases:
        want = decide(**kw)
        assert _c_decide(lib, **kw) is want, kw
        seen.add(want)
    assert seen == set(Reason)  # every reason is reached


@pytest.mark.parametrize("sizes, strides", [
    ((128,), (1,)), ((4, 128), (128, 1)), ((4, 128), (136, 1)), ((4, 128), (1, 4)), ((1, 128), (7, 1)),
    ((2, 10, 128), (1280, 128, 1)), ((2, 10, 128), (128, 256, 1)), ((1, 20, 128), (5, 128, 1)),
    ((20, 1, 128), (128, 9, 1)), ((3, 1, 4, 1), (4, 4, 1, 1)), ((2, 3, 4, 8), (96, 32, 8, 1)),
    ((2, 3, 4, 8), (100, 32, 8, 1)), ((5, 1), (1, 3)), ((0, 128), (128, 1)), ((4, 128), (64, 1)),
])
def test_c_rows_equals_python_rows(lib, sizes, strides):
    n = len(sizes)
    row = ctypes.c_int64(-1)
    ok = lib.aotgemm_aoti_rows(n, (ctypes.c_int64 * n)(*sizes), (ctypes.c_int64 * n)(*strides), ctypes.byref(row))
    want = rows(sizes, strides)
    assert (row.value if ok else None) == want


# --- the same calls through the op and through the shim ------------------------------------------
def _w(n, k, dtype=bf16):
    return torch.arange(n * k, dtype=torch.float32).mul_(0.37).sin_().reshape(n, k).to(dtype)


def _x(m, k, dtype=bf16):
    return torch.arange(m * k, dtype=torch.float32).mul_(0.11).cos_().reshape(m, k).to(dtype)


def _flat(numel, dtype=bf16, offset=0):
    """A 1-D tensor of numel elements starting `offset` elements into a fresh (64-byte aligned) storage."""
    return torch.arange(numel + offset, dtype=torch.float32).mul_(0.07).sin_().to(dtype)[offset:]


def _b(n, dtype=bf16):
    return torch.arange(n, dtype=torch.float32).mul_(0.5).cos_().to(dtype)


def case_tensors(name: str):
    """(x, weight, bias) of case `name`: built identically in every process."""
    up, down, odd = _w(256, 128), _w(128, 256), _w(256, 36)
    m_of = {"m1": 1, "m2": 2, "m15": 15, "m16": 16, "m17": 17, "m128": 128, "m129": 129, "m1024": 1024,
            "m1025": 1025, "m3000": 3000}
    if name in m_of:
        return _x(m_of[name], 128), up, None
    if name.startswith("fp16_"):
        m = int(name.removeprefix("fp16_m"))
        return _x(m, 128, f16), _w(256, 128, f16), None
    table = {
        "x_1d": lambda: (_x(1, 128).reshape(128), up, None),
        "x_3d": lambda: (_x(20, 128).reshape(2, 10, 128), up, None),
        "x_3d_size1_lead": lambda: (_x(20, 128).reshape(1, 20, 128), up, None),
        "x_3d_size1_mid": lambda: (_x(20, 128).reshape(20, 1, 128), up, None),
        "x_3d_noncollapsible": lambda: (_x(20, 128).reshape(10, 2, 128).transpose(0, 1), up, None),
        "x_inner_stride": lambda: (_x(128, 20).t(), up, None),
        "x_padded_rows": lambda: (_x(20, 136)[:, :128], up, None),
        "x_padded_rows_unaligned": lambda: (_x(20, 132)[:, :128], up, None),
        "x_overlapping_rows": lambda: (_flat(20 * 128).as_strided((20, 128), (64, 1)), up, None),
        "x_one_row_odd_stride": lambda: (_flat(7 * 128).as_strided((1, 128), (7, 1)), up, None),
        "x_ptr_unaligned": lambda: (_flat(20 * 128, offset=1).view(20, 128), up, None),
        "w_transposed": lambda: (_x(20, 128), _w(128, 256).t(), None),
        "w_ptr_unaligned": lambda: (_x(20, 128), _flat(256 * 128, offset=4).view(256, 128), None),
        "k_unaligned": lambda: (_x(20, 36), odd, None),
        "empty_m": lambda: (_x(0, 128), up, None),
        "empty_m_3d": lambda: (_x(0, 128).reshape(2, 0, 128), up, None),
        "empty_k": lambda: (torch.empty(20, 0, dtype=bf16), torch.empty(256, 0, dtype=bf16), None),
        "float32": lambda: (_x(20, 128).float(), up.float(), None),
        "no_entry_shape": lambda: (_x(20, 128), _w(999, 128), None),
        "no_entry_bucket": lambda: (_x(2000, 256), down, None),
        "down_m100": lambda: (_x(100, 256), down, None),
        "down_m99": lambda: (_x(99, 256), down, None),  # below the split of bucket 128 (MIN_M)
        "bias_fused": lambda: (_x(400, 128).reshape(2, 200, 128)[1], up, _b(256)),  # bucket 1024: a bias kernel
        "bias_fused_m1": lambda: (_x(1, 128), up, _b(256)),
        "bias_unfused": lambda: (_x(100, 128), up, _b(256)),  # bucket 128: no bias entry, identity kernel + add
        "bias_cublas": lambda: (_x(10, 128), up, _b(256)),
        "bias_strided": lambda: (_x(200, 128), up, _b(512)[::2]),
        "bias_ptr_unaligned": lambda: (_x(200, 128), up, _flat(256, offset=3)),
        "bias_strided_unfused": lambda: (_x(100, 128), up, _b(512)[::2]),  # unfused: the bias is torch's
    }
    return table[name]()


# case -> the reason both must give
EXPECTED = {
    "m1": "HIT", "m2": "CHOSE_CUBLAS", "m15": "CHOSE_CUBLAS", "m16": "CHOSE_CUBLAS", "m17": "HIT", "m128": "HIT",
    "m129": "HIT", "m1024": "HIT", "m1025": "HIT", "m3000": "HIT",
    "fp16_m20": "HIT", "fp16_m1024": "HIT", "fp16_m1025": "ABOVE_MAX_M", "fp16_m3000": "ABOVE_MAX_M",
    "x_1d": "HIT", "x_3d": "HIT", "x_3d_size1_lead": "HIT", "x_3d_size1_mid": "HIT",
    "x_3d_noncollapsible": "NON_CONTIGUOUS", "x_inner_stride": "NON_CONTIGUOUS", "x_padded_rows": "HIT",
    "x_padded_rows_unaligned": "UNALIGNED", "x_overlapping_rows": "NON_CONTIGUOUS", "x_one_row_odd_stride": "HIT",
    "x_ptr_unaligned": "UNALIGNED", "w_transposed": "NON_CONTIGUOUS", "w_ptr_unaligned": "UNALIGNED",
    "k_unaligned": "UNALIGNED", "empty_m": "EMPTY", "empty_m_3d": "EMPTY", "empty_k": "EMPTY",
    "float32": "UNSUPPORTED_DTYPE", "no_entry_shape": "NO_ENTRY", "no_entry_bucket": "NO_ENTRY",
    "down_m100": "HIT", "down_m99": "CHOSE_CUBLAS", "bias_strided_unfused": "HIT", "bias_fused": "HIT", "bias_fused_m1": "HIT", "bias_unfused": "HIT",
    "bias_cublas": "CHOSE_CUBLAS", "bias_strided": "NON_CONTIGUOUS", "bias_ptr_unaligned": "UNALIGNED",
}
CASES = list(EXPECTED)


def reference(x, w, b):
    y = F.linear(x.float(), w.float(), None if b is None else b.float())
    return y


@pytest.fixture(scope="module")
def kernel_lib(tmp_path_factory) -> bytes:
    return testing.build_cpu_kernel_library(tmp_path_factory.mktemp("kernels"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, kernel_lib) -> Path:
    path = tmp_path_factory.mktemp("conformance") / "conformance.agb"
    testing.make_bundle(path, LAYERS, library=kernel_lib, dtypes=("bfloat16", "float16"), cublas=CUBLAS, skip=SKIP,
                        max_m=MAX_M, epilogues=("identity", "bias"), min_m=MIN_M)
    return path


class PyKernel:
    """The test library's kernels in Python (fn(x, wt, out, [bias,] stream)), for the op's CPU table."""

    def __init__(self, fused: bool):
        self.fused = fused

    def __call__(self, a, bt, out, *rest):
        bias = rest[0] if self.fused else None
        assert rest[-1] == 0 and a.stride(1) == 1 and bt.stride(0) == 1
        y = a.float() @ bt.float()
        out.copy_((y if bias is None else y + bias.float()).to(out.dtype))


def run_python(bundle: Path, names, *, fallback: bool = False, device_type: str = "cpu") -> dict:
    out = {}
    with cpu_dispatch(bundle, lambda k: PyKernel(k.epilogue == "bias"), name="conformance", device_type=device_type,
                      fallback=fallback) as rt:
        for name in names:
            rt.reset_stats()
            x, w, b = case_tensors(name)
            y = rt.linear(x, w, b)
            s = rt.stats()
            reason = reason_of(s)
            assert s.total_hits + s.total_misses == 1
            err = ((y.float() - reference(x, w, b)).abs().max().item() if y.numel() else 0.0)
            out[name] = {"reason": reason, "err": err, "shape": list(y.shape)}
    return out


SHIM_DRIVER = """
import ctypes, json, sys, torch
sys.path.insert(0, {tests!r})
import test_dispatch_conformance as c
from aotgemm.aoti import native, testing
from conformance_helpers import handle, steal
lib = native.load_native()
device = testing.fake_device() if {fake!r} == "h100" else (testing.fake_device("B200") if {fake!r} == "b200" else None)
native.init(lib, {package!r}, None, 0 if device else -1, device, {cache!r}, {flags!r})
shim = lib.aoti_torch_cpu_aotgemm_linear
shim.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
shim.restype = ctypes.c_int32
out = {{}}
for name in json.loads({names!r}):
    x, w, b = c.case_tensors(name)
    before = native.counters(lib)
    hx, hw = handle(x), handle(w)
    hb = ctypes.c_void_p(handle(b)) if b is not None else None
    ret = ctypes.c_void_p()
    rc = shim(hx, hw, ctypes.byref(hb) if hb is not None else None, ctypes.byref(ret))
    assert rc == 0, (name, lib.aotgemm_aoti_last_error())
    y = steal(ret.value)
    for h in [hx, hw] + ([hb.value] if hb is not None else []):
        steal(h)
    after = native.counters(lib)
    moved = sorted(k for k in after if after[k] != before[k])
    err = (y.float() - c.reference(x, w, b)).abs().max().item() if y.numel() else 0.0
    out[name] = {{"moved": moved, "err": err, "shape": list(y.shape)}}
import aotgemm.aoti
out["by_reason"] = aotgemm.aoti.by_reason()
print(json.dumps(out))
"""


def run_shim(bundle: Path, names, tmp_path: Path, *, fake: str = "h100", cpu_kernels: bool = True,
             strict: bool = True) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    pkg = testing.make_stub_package(tmp_path / f"stub-{fake}.pt2", bundle)
    flags = (native.FLAG_CPU_KERNELS if cpu_kernels else 0) | (0 if strict else native.FLAG_NONSTRICT)
    code = SHIM_DRIVER.format(tests=str(HERE), fake=fake, package=str(pkg), cache=str(tmp_path / "cache"),
                              flags=flags, names=json.dumps(list(names)))
    got = run_driver(code)
    by_reason = got.pop("by_reason")
    set_reasons(got)
    # aotgemm.aoti.by_reason() names the misses as aotgemm.runtime.stats().by_reason() does
    want = Counter(Reason[r["reason"]].text for r in got.values() if r["reason"] != "HIT")
    assert by_reason == dict(want)
    return got


def _tolerance(x) -> float:
    return 0.05 * max(1.0, float(x.shape[-1]) ** 0.5)


def test_same_decision_and_counter_for_every_case(bundle, tmp_path):
    py = run_python(bundle, CASES)
    cc = run_shim(bundle, CASES, tmp_path)
    table = assert_same_reasons(EXPECTED, py, cc, CASES)
    for name in CASES:
        x, w, b = case_tensors(name)
        assert py[name]["shape"] == cc[name]["shape"] == [*x.shape[:-1], w.shape[0]], name
        tol = _tolerance(x)
        assert py[name]["err"] <= tol and cc[name]["err"] <= tol, (name, py[name]["err"], cc[name]["err"])
    assert {v[0] for v in table.values()} >= {"HIT", "CHOSE_CUBLAS", "ABOVE_MAX_M", "NON_CONTIGUOUS", "UNALIGNED",
                                              "EMPTY", "UNSUPPORTED_DTYPE", "NO_ENTRY"}


ENV_CASES = ["m1", "m17", "x_inner_stride", "float32", "empty_m"]


def test_environment_mismatch_and_cpu_tensors_agree(bundle, tmp_path):
    """A non-strict load on a GPU the bundle lacks: every call misses 'environment mismatch' (first in
    the rule); a bundle serving a GPU, called with CPU tensors: 'cpu tensor' (after the dtype check)."""
    py = run_python(bundle, ENV_CASES, fallback=True)
    cc = run_shim(bundle, ENV_CASES, tmp_path / "b200", fake="b200", strict=False)
    assert {n: r["reason"] for n, r in py.items()} == {n: r["reason"] for n, r in cc.items()} == \
        {n: "ENV_MISMATCH" for n in ENV_CASES}
    py = run_python(bundle, ENV_CASES, device_type="cuda")
    cc = run_shim(bundle, ENV_CASES, tmp_path / "cpu", cpu_kernels=False)
    want = {n: ("UNSUPPORTED_DTYPE" if n == "float32" else "CPU_TENSOR") for n in ENV_CASES}
    assert {n: r["reason"] for n, r in py.items()} == {n: r["reason"] for n, r in cc.items()} == want


def test_a_kernel_compiled_for_compact_rows_gets_only_compact_x():
    """A kernel specialised on K (x_row_stride = K) takes x rows exactly K apart; padded rows go to cuBLAS."""
    base = dict(loaded=True, fallback=False, dtype_supported=True, device=Device.SERVED, n=256, k=128,
                entry=Entry(True, 8, 64, 128), w_strides=(128, 1), operands_contiguous=True,
                pointers=(4096, 8192), element_bytes=2)
    assert decide(m=20, x_row=128, **base) is Reason.HIT
    assert decide(m=20, x_row=136, **base) is Reason.NON_CONTIGUOUS
    assert decide(m=1, x_row=128, **base) is Reason.HIT  # one row: its stride is never used
    assert decide(m=20, x_row=136, **{**base, "entry": Entry(True, 8, 64)}) is Reason.HIT  # any stride >= K
