"""Helpers for testing the AOTInductor integration without a GPU (used by tests/test_aoti_*.py).

`make_bundle` writes a real, valid bundle (aotgemm.bundle.write_bundle) whose
"kernel library" is any bytes; `build_cpu_kernel_library` compiles a small
TVM-FFI library with the kernels' calling convention (A = x [M,K] row-major,
B = W^T [K,N] column-major, out [M,N], stream) that computes the GEMM on CPU
tensors. With a fake device description and AOTGEMM_FLAG_CPU_KERNELS, the CPU
shim then runs the whole kernel path (extraction, TVM-FFI load, dispatch,
DLTensor views, hit counting) on a machine with no GPU.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..bundle import BundleIndex, DispatchEntry, Kernel, Layer, Target, write_bundle
from ..bundle.format import CUBLAS, ENVIRONMENT_KEYS
from ..epilogues import BIAS, GEGLU, IDENTITY, RESIDUAL_ADD, SCALE_ROW, SCALE_ROWWISE, SCALE_TENSOR, SWIGLU
from ..problem import FLOAT8_E4M3, LINEAR
from ..gpus import gpu_model
from .native import DeviceSpec, _tvm_ffi_dirs

TEST_SYMBOL = {"bfloat16": "aotgemm_test_gemm_bf16", "float16": "aotgemm_test_gemm_f16"}
# The fused-bias kernels (epilogue "bias": fn(x, wt, out, bias, stream)).
TEST_BIAS_SYMBOL = {"bfloat16": "aotgemm_test_gemm_bias_bf16", "float16": "aotgemm_test_gemm_bias_f16"}
# The fused-epilogue kernels: fn(x, wt, out, residual, stream) and fn(x, wt, out [M, N/2], stream).
TEST_RESIDUAL_SYMBOL = {"bfloat16": "aotgemm_test_gemm_residual_bf16", "float16": "aotgemm_test_gemm_residual_f16"}
TEST_SWIGLU_SYMBOL = {"bfloat16": "aotgemm_test_gemm_swiglu_bf16", "float16": "aotgemm_test_gemm_swiglu_f16"}
TEST_GEGLU_SYMBOL = {"bfloat16": "aotgemm_test_gemm_geglu_bf16", "float16": "aotgemm_test_gemm_geglu_f16"}
# The fp8 kernels of the scale epilogues (fn(x, wt, out, scale_a, scale_b, stream), bf16 out).
TEST_SCALE_SYMBOL = {SCALE_TENSOR: {FLOAT8_E4M3: "aotgemm_test_gemm_scale_tensor_fp8"},
                     SCALE_ROW: {FLOAT8_E4M3: "aotgemm_test_gemm_scale_row_fp8"},
                     SCALE_ROWWISE: {FLOAT8_E4M3: "aotgemm_test_gemm_scale_rowwise_fp8"}}
TEST_BUCKETS = (1, 16, 128, 1024)

_KERNEL_SOURCE = r"""
// A CPU stand-in for a bundle's kernel library: the same exports and calling
// convention (A = x [M,K], B = W^T [K,N] column-major, out [M,N], [bias [N],] stream).
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/function.h>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace {
float load(const uint16_t* p, bool bf16) {
  uint16_t v = *p;
  if (bf16) { uint32_t u = (uint32_t)v << 16; float f; std::memcpy(&f, &u, 4); return f; }
  uint32_t s = (v >> 15) & 1, e = (v >> 10) & 31, m = v & 1023, u;
  if (e == 0) { float f = m * (1.0f / 16777216.0f); return s ? -f : f; }
  if (e == 31) u = (s << 31) | 0x7f800000u | (m << 13);
  else u = (s << 31) | ((e + 112) << 23) | (m << 13);
  float f; std::memcpy(&f, &u, 4); return f;
}
uint16_t store(float f, bool bf16) {
  uint32_t u; std::memcpy(&u, &f, 4);
  if (bf16) { u += 0x7fffu + ((u >> 16) & 1u); return (uint16_t)(u >> 16); }
  // float -> half, round to nearest even (finite, normal range is enough for tests)
  uint32_t s = (u >> 16) & 0x8000u; int e = (int)((u >> 23) & 255) - 112; uint32_t m = u & 0x7fffffu;
  if (e <= 0) return (uint16_t)s;
  if (e >= 31) return (uint16_t)(s | 0x7c00u);
  uint32_t h = s | (uint32_t)(e << 10) | (m >> 13); uint32_t rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
  return (uint16_t)h;
}
// C: a bias [N] (rows = false) or a residual [M, N] with rows N apart (rows = true).
void gemm(tvm::ffi::TensorView A, tvm::ffi::TensorView B, tvm::ffi::TensorView O, const tvm::ffi::TensorView* C,
          int64_t stream, bool bf16, bool rows = false) {
  TVM_FFI_ICHECK_EQ(A.ndim(), 2);
  TVM_FFI_ICHECK_EQ(B.ndim(), 2);
  TVM_FFI_ICHECK_EQ(O.ndim(), 2);
  TVM_FFI_ICHECK_EQ(B.stride(0), 1) << "B must be column-major (W^T)";
  TVM_FFI_ICHECK_EQ(A.stride(1), 1) << "A must be row-major";
  TVM_FFI_ICHECK_EQ(stream, 0) << "CPU kernels get no stream";
  const int64_t M = A.size(0), K = A.size(1), N = B.size(1);
  TVM_FFI_ICHECK_EQ(B.size(0), K);
  const uint16_t* a = static_cast<const uint16_t*>(A.data_ptr());
  const uint16_t* b = static_cast<const uint16_t*>(B.data_ptr());
  const uint16_t* c = C ? static_cast<const uint16_t*>(C->data_ptr()) : nullptr;
  if (C && !rows) { TVM_FFI_ICHECK_EQ(C->ndim(), 1); TVM_FFI_ICHECK_EQ(C->size(0), N); TVM_FFI_ICHECK_EQ(C->stride(0), 1); }
  if (C && rows) {
    TVM_FFI_ICHECK_EQ(C->ndim(), 2); TVM_FFI_ICHECK_EQ(C->size(0), M); TVM_FFI_ICHECK_EQ(C->size(1), N);
    TVM_FFI_ICHECK_EQ(C->stride(1), 1); TVM_FFI_ICHECK(M <= 1 || C->stride(0) == N) << "residual rows N apart";
  }
  uint16_t* o = static_cast<uint16_t*>(O.data_ptr());
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; k++) acc += load(a + i * A.stride(0) + k, bf16) * load(b + k + j * B.stride(1), bf16);
      if (c) acc += load(c + (rows ? i * N + j : j), bf16);
      o[i * O.stride(0) + j * O.stride(1)] = store(acc, bf16);
    }
}
// e4m3fn (1 sign, 4 exponent bits of bias 7, 3 mantissa bits; S.1111.111 is NaN, no infinities) -> float
float load_e4m3(uint8_t v) {
  const int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
  float f;
  if (e == 15 && m == 7) f = NAN;
  else if (e == 0) f = m * (1.0f / 512.0f);
  else f = std::ldexp(1.0f + m / 8.0f, e - 7);
  return s ? -f : f;
}

// fp8 W8A8 with a scale epilogue: out = (x @ W^T) * scale_a * scale_b (scale_a [1], or [M] per token;
// scale_b [1] or [N]), bf16 out.
void gemm_fp8(tvm::ffi::TensorView A, tvm::ffi::TensorView B, tvm::ffi::TensorView O, tvm::ffi::TensorView SA,
              tvm::ffi::TensorView SB, int64_t stream, bool row, bool per_token = false) {
  TVM_FFI_ICHECK_EQ(B.stride(0), 1) << "B must be column-major (W^T)";
  TVM_FFI_ICHECK_EQ(A.stride(1), 1) << "A must be row-major";
  TVM_FFI_ICHECK_EQ(stream, 0) << "CPU kernels get no stream";
  const int64_t M = A.size(0), K = A.size(1), N = B.size(1);
  TVM_FFI_ICHECK_EQ(SA.ndim(), 1);
  TVM_FFI_ICHECK_EQ(SA.size(0), per_token ? M : 1);
  TVM_FFI_ICHECK_EQ(SA.stride(0), 1);
  TVM_FFI_ICHECK_EQ(SB.ndim(), 1);
  TVM_FFI_ICHECK_EQ(SB.size(0), row ? N : 1);
  TVM_FFI_ICHECK_EQ(SB.stride(0), 1);
  const uint8_t* a = static_cast<const uint8_t*>(A.data_ptr());
  const uint8_t* b = static_cast<const uint8_t*>(B.data_ptr());
  const float* sa_p = static_cast<const float*>(SA.data_ptr());
  const float* sb = static_cast<const float*>(SB.data_ptr());
  uint16_t* o = static_cast<uint16_t*>(O.data_ptr());
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; k++) acc += load_e4m3(a[i * A.stride(0) + k]) * load_e4m3(b[k + j * B.stride(1)]);
      o[i * O.stride(0) + j * O.stride(1)] = store(acc * sa_p[per_token ? i : 0] * sb[row ? j : 0], true);
    }
}

using TV = tvm::ffi::TensorView;
// The gated epilogues: B = [gate; up]^T [K, N], O [M, N/2] = act(x gate^T) * (x up^T), in float, rounded once;
// act silu (swiglu) or, with `gelu_tanh`, gelu's tanh form (geglu).
void gemm_gated(TV A, TV B, TV O, int64_t stream, bool bf16, bool gelu_tanh) {
  TVM_FFI_ICHECK_EQ(B.stride(0), 1) << "B must be column-major (W^T)";
  TVM_FFI_ICHECK_EQ(A.stride(1), 1) << "A must be row-major";
  TVM_FFI_ICHECK_EQ(stream, 0) << "CPU kernels get no stream";
  const int64_t M = A.size(0), K = A.size(1), N = B.size(1), I = N / 2;
  TVM_FFI_ICHECK_EQ(O.size(1), I) << "gated: out is N/2 wide";
  const uint16_t* a = static_cast<const uint16_t*>(A.data_ptr());
  const uint16_t* b = static_cast<const uint16_t*>(B.data_ptr());
  uint16_t* o = static_cast<uint16_t*>(O.data_ptr());
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < I; j++) {
      float g = 0.f, u = 0.f;
      for (int64_t k = 0; k < K; k++) {
        const float x = load(a + i * A.stride(0) + k, bf16);
        g += x * load(b + k + j * B.stride(1), bf16);
        u += x * load(b + k + (j + I) * B.stride(1), bf16);
      }
      const float act = gelu_tanh ? 0.5f * g * (1.f + std::tanh(0.7978845608f * (g + 0.044715f * g * g * g)))
                                  : g / (1.f + std::exp(-g));
      o[i * O.stride(0) + j * O.stride(1)] = store(act * u, bf16);
    }
}

void gemm_scale_tensor_fp8(TV A, TV B, TV O, TV SA, TV SB, int64_t s) { gemm_fp8(A, B, O, SA, SB, s, false); }
void gemm_scale_row_fp8(TV A, TV B, TV O, TV SA, TV SB, int64_t s) { gemm_fp8(A, B, O, SA, SB, s, true); }
void gemm_scale_rowwise_fp8(TV A, TV B, TV O, TV SA, TV SB, int64_t s) { gemm_fp8(A, B, O, SA, SB, s, true, true); }
void gemm_bf16(TV A, TV B, TV O, int64_t s) { gemm(A, B, O, nullptr, s, true); }
void gemm_f16(TV A, TV B, TV O, int64_t s) { gemm(A, B, O, nullptr, s, false); }
void gemm_bias_bf16(TV A, TV B, TV O, TV C, int64_t s) { gemm(A, B, O, &C, s, true); }
void gemm_bias_f16(TV A, TV B, TV O, TV C, int64_t s) { gemm(A, B, O, &C, s, false); }
void gemm_residual_bf16(TV A, TV B, TV O, TV R, int64_t s) { gemm(A, B, O, &R, s, true, true); }
void gemm_residual_f16(TV A, TV B, TV O, TV R, int64_t s) { gemm(A, B, O, &R, s, false, true); }
void gemm_swiglu_bf16(TV A, TV B, TV O, int64_t s) { gemm_gated(A, B, O, s, true, false); }
void gemm_swiglu_f16(TV A, TV B, TV O, int64_t s) { gemm_gated(A, B, O, s, false, false); }
void gemm_geglu_bf16(TV A, TV B, TV O, int64_t s) { gemm_gated(A, B, O, s, true, true); }
void gemm_geglu_f16(TV A, TV B, TV O, int64_t s) { gemm_gated(A, B, O, s, false, true); }
}  // namespace

TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_bf16, gemm_bf16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_f16, gemm_f16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_bias_bf16, gemm_bias_bf16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_bias_f16, gemm_bias_f16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_residual_bf16, gemm_residual_bf16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_residual_f16, gemm_residual_f16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_swiglu_bf16, gemm_swiglu_bf16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_swiglu_f16, gemm_swiglu_f16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_geglu_bf16, gemm_geglu_bf16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_geglu_f16, gemm_geglu_f16);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_scale_tensor_fp8, gemm_scale_tensor_fp8);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_scale_row_fp8, gemm_scale_row_fp8);
TVM_FFI_DLL_EXPORT_TYPED_FUNC(aotgemm_test_gemm_scale_rowwise_fp8, gemm_scale_rowwise_fp8);
"""


def build_cpu_kernel_library(out_dir: str | os.PathLike, cxx: str = "g++") -> bytes:
    """Compile the CPU stand-in kernel library; return its bytes."""
    inc, lib = _tvm_ffi_dirs()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "fake_kernels.cpp"
    so = out_dir / "fake_kernels.so"
    src.write_text(_KERNEL_SOURCE)
    cmd = [cxx, "-O2", "-std=c++17", "-shared", "-fPIC", f"-I{inc}", str(src), "-o", str(so),
           f"-L{lib}", "-ltvm_ffi", f"-Wl,-rpath,{lib}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return so.read_bytes()


def _environment(**over) -> tuple:
    env = {k: None for k in ENVIRONMENT_KEYS}
    env.update({"cuda_driver_min": 12080, "cuda_runtime_major": 12, "compiler": "test", "tvm_ffi": "test",
                "link_mode": "static-runtime"})
    env.update(over)
    return tuple(sorted(env.items()))


def make_bundle(path: str | os.PathLike, layers: Sequence[tuple[str, int, int]], *, library: bytes = b"\x7fELF-not-a-library",
                gpus: Iterable[str] = ("H100_SXM",), dtypes: Iterable[str] = ("bfloat16",),
                m_buckets: Sequence[int] = TEST_BUCKETS, cublas: Iterable[tuple] = (),
                skip: Iterable[tuple] = (), alignment: int = 8, max_m: int | dict[str, int] = 0,
                epilogues: Iterable[str] = (IDENTITY,), model: str = "test-model",
                environment: dict | None = None, scales: str | None = None,
                min_m: dict[tuple, int] | None = None) -> BundleIndex:
    """Write a valid bundle: every (layer, dtype, epilogue, bucket) served by the test kernel of its dtype
    and epilogue (alignment `alignment`, serving M <= `max_m`, 0: any; a dict: per dtype), except the keys in `cublas` (entry
    "cublas") and in `skip` (no entry at all); the keys of `min_m` are served from that M up (a tuned split,
    DispatchEntry.min_m). A key is (dtype, n, k, bucket) for the identity epilogue, or (dtype, epilogue, n, k,
    bucket)."""
    def full(key):  # (dtype, epilogue, n, k, bucket)
        return key if len(key) == 5 else (key[0], IDENTITY, *key[1:])

    cublas, skip = {full(key) for key in cublas}, {full(key) for key in skip}
    splits = {full(key): m for key, m in (min_m or {}).items()}
    dtypes, epilogues = tuple(dtypes), tuple(sorted(epilogues))
    symbols = {IDENTITY: TEST_SYMBOL, BIAS: TEST_BIAS_SYMBOL, RESIDUAL_ADD: TEST_RESIDUAL_SYMBOL,
               SWIGLU: TEST_SWIGLU_SYMBOL, GEGLU: TEST_GEGLU_SYMBOL, **TEST_SCALE_SYMBOL}
    max_ms = max_m if isinstance(max_m, dict) else {dt: max_m for dt in dtypes}
    targets, blobs = [], {}
    for gpu in sorted(gpus):
        g = gpu_model(gpu)
        lib_name = f"{gpu.lower()}.so"
        blobs[lib_name] = library
        kernels = tuple(sorted((Kernel(symbols[ep][dt], "test", "TestGemm", (("tile", (128, 128)),), dt, LINEAR, ep,
                                       alignment, max_ms.get(dt, 0), "0" * 64) for dt in dtypes for ep in epilogues),
                               key=lambda k: k.symbol))
        dispatch = []
        for dt in dtypes:
            for ep in epilogues:
                for _, n, k in layers:
                    for b in m_buckets:
                        key = (dt, ep, n, k, b)
                        if key in skip:
                            continue
                        kern = CUBLAS if key in cublas else symbols[ep][dt]
                        dispatch.append(DispatchEntry(dt, LINEAR, ep, n, k, b, kern, "heuristic",
                                                      min_m=splits.get(key, 0)))
        dispatch = tuple(sorted({d.key: d for d in dispatch}.values(), key=lambda d: d.key))
        targets.append(Target(gpu, g.arch, g.sm_count, lib_name, _environment(**(environment or {})),
                              (("test", "aotgemm.aoti.testing"),), kernels, dispatch))
    index = BundleIndex(generator="aotgemm test", model=model,
                        layers=tuple(Layer(name, n, k, 1, scales=scales) for name, n, k in layers),
                        m_buckets=tuple(m_buckets), targets=tuple(targets))
    return write_bundle(path, index, blobs)


def make_stub_package(path: str | os.PathLike, bundle: str | os.PathLike, *, device: str = "cpu",
                      embed_bundle: bool = True, bundle_bytes: bytes | None = None,
                      meta_text: str | None = None) -> Path:
    """A .pt2-shaped archive with only aotgemm's records (no model): enough for
    aotgemm_aoti_check / aotgemm_aoti_init, which never touch the model. The
    meta is rendered from `bundle`; `bundle_bytes` replaces the embedded copy
    (to corrupt it)."""
    import zipfile

    from ..bundle import open_bundle
    from . import meta as meta_mod

    bf = open_bundle(bundle, verify_blobs=True)
    text = meta_text if meta_text is not None else meta_mod.render(
        bf, device=device, inputs=[meta_mod.InputSpec("bfloat16", (-1, 128))], routed=[])
    path = Path(path)
    root = path.stem
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/archive_format", "pt2")
        zf.writestr(f"{root}/.data/version", "1\n")
        zf.writestr(f"{root}/{meta_mod.META_RECORD}", text)
        if embed_bundle:
            zf.writestr(f"{root}/{meta_mod.BUNDLE_RECORD}",
                        bundle_bytes if bundle_bytes is not None else Path(bundle).read_bytes())
    return path


def fake_device(gpu: str = "H100_SXM", driver_version: int = 0) -> DeviceSpec:
    """A DeviceSpec that aotgemm.gpus.identify takes for `gpu`."""
    g = gpu_model(gpu)
    return DeviceSpec(f"NVIDIA {g.device_names[0]}", g.sm_count, g.compute_capability, driver_version)


def temp_dir(prefix: str = "aotgemm-aoti-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def deterministic_input(shape: Sequence[int], dtype, device="cpu"):
    """sin(0.001 * i) over the flattened shape, in float32, then cast: the input examples/cpp/main.cpp builds."""
    import torch

    numel = 1
    for d in shape:
        numel *= int(d)
    x = torch.arange(numel, dtype=torch.float32).mul_(0.001).sin_().reshape(tuple(shape))
    return x.to(dtype).to(device)


# --- the GPU scripts' model: one Llama-3.1-8B decoder block's GEMMs + the lm_head -----------
LLAMA_8B = {"hidden": 4096, "q": 4096, "kv": 1024, "inter": 14336, "vocab": 128256}
LLAMA_8B_GEMMS = {  # name: (N, K)
    "qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336), "lm_head": (128256, 4096),
}


def _rms(x, w, eps: float = 1e-5):
    import torch

    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def llama_block_lm_head(device: str = "cuda", dtype=None, seed: int = 0, separate_qkv: bool = False, **dims):
    """A Llama-3.1-8B-shaped decoder block (projections, RMSNorm, SiLU*mul, residuals; the
    attention math is left out: q stands in for its output) and the lm_head, with random
    weights generated on `device` from `seed` (std 1/sqrt(K)), identical in every process.
    `separate_qkv`: q, k and v as three projections, as transformers writes them (the attention's
    stand-in then gates q by k and v, so that all three are used), instead of one qkv GEMM."""
    import torch

    d = {**LLAMA_8B, **dims}
    dtype = dtype or torch.bfloat16

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            lin = lambda k, n: torch.nn.Linear(k, n, bias=False, device="meta", dtype=dtype)  # noqa: E731
            if separate_qkv:
                self.q_proj, self.k_proj, self.v_proj = (lin(d["hidden"], n) for n in (d["q"], d["kv"], d["kv"]))
            else:
                self.qkv = lin(d["hidden"], d["q"] + 2 * d["kv"])
            self.o = lin(d["q"], d["hidden"])
            self.gate_up = lin(d["hidden"], 2 * d["inter"])
            self.down = lin(d["inter"], d["hidden"])
            self.lm_head = lin(d["hidden"], d["vocab"])
            self.norm1 = torch.nn.Parameter(torch.empty(d["hidden"], device="meta", dtype=dtype))
            self.norm2 = torch.nn.Parameter(torch.empty(d["hidden"], device="meta", dtype=dtype))
            self.norm_f = torch.nn.Parameter(torch.empty(d["hidden"], device="meta", dtype=dtype))

        def attention(self, h):
            if not separate_qkv:
                return self.qkv(h)[..., : d["q"]]
            gate = self.k_proj(h).mean(-1, keepdim=True) + self.v_proj(h).mean(-1, keepdim=True)
            return self.q_proj(h) * torch.sigmoid(gate)

        def forward(self, x):
            q = self.attention(_rms(x, self.norm1))
            x = x + self.o(q)
            g, u = self.gate_up(_rms(x, self.norm2)).chunk(2, dim=-1)
            x = x + self.down(torch.nn.functional.silu(g) * u)
            return self.lm_head(_rms(x, self.norm_f))

    model = Block().to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("norm"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen, device=device, dtype=torch.float32))
            else:
                p.copy_(torch.randn(p.shape, generator=gen, device=device, dtype=torch.float32).mul_(p.shape[1] ** -0.5))
    return model.eval()
