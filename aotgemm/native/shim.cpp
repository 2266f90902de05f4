// aoti_torch_{cuda,cpu}_aotgemm_linear{,_swiglu,_residual}: the AOTInductor C shims of aotgemm::aotgemm_linear
// and of the fused-epilogue ops (aotgemm/runtime/epilogue_ops.py), one code path for all.
//
// Per call: check the call (as aotgemm.runtime.ops.check_inputs), apply the dispatch rule
// (dispatch.cpp = aotgemm.dispatch_rule.decide), count the outcome, then run the bundle kernel
// with the call convention's arguments (aotgemm_epilogue_call of the generated aotgemm_rule.h) or
// cuBLAS (CPU: ATen) through the AOTI C shims. CUDA symbols are looked up at run time in
// libtorch_cuda, so the same source builds against CPU and CUDA torch.
#include <dlfcn.h>
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/inductor/aoti_torch/generated/c_shim_cpu.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/extra/c_env_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "internal.h"

namespace aotgemm {
namespace {

using MmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle);
using AddmmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, double, double);
using AddTensor = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, double, AtenTensorHandle*);
using GetStream = AOTITorchError (*)(int32_t, void**);

struct DeviceOps {
  MmOut mm = nullptr;
  AddmmOut addmm = nullptr;
  AddTensor add = nullptr;
  GetStream stream = nullptr;
};

void* cuda_sym(const char* name) {
  static void* handle = [] {
    void* h = dlopen("libtorch_cuda.so", RTLD_NOLOAD | RTLD_LAZY);
    return h ? h : RTLD_DEFAULT;
  }();
  void* p = dlsym(handle, name);
  return p ? p : dlsym(RTLD_DEFAULT, name);
}

const DeviceOps& cuda_ops() {
  static DeviceOps ops = [] {
    DeviceOps o;
    o.mm = reinterpret_cast<MmOut>(cuda_sym("aoti_torch_cuda_mm_out"));
    o.addmm = reinterpret_cast<AddmmOut>(cuda_sym("aoti_torch_cuda_addmm_out"));
    o.add = reinterpret_cast<AddTensor>(cuda_sym("aoti_torch_cuda_add_Tensor"));
    o.stream = reinterpret_cast<GetStream>(cuda_sym("aoti_torch_get_current_cuda_stream"));
    return o;
  }();
  return ops;
}

const DeviceOps& cpu_ops() {
  static DeviceOps ops = [] {
    DeviceOps o;
    o.mm = &aoti_torch_cpu_mm_out;
    o.addmm = &aoti_torch_cpu_addmm_out;
    o.add = &aoti_torch_cpu_add_Tensor;
    return o;
  }();
  return ops;
}

struct Handle {  // owns an AtenTensorHandle
  AtenTensorHandle h = nullptr;
  ~Handle() { if (h) aoti_torch_delete_tensor_object(h); }
  AtenTensorHandle release() { AtenTensorHandle r = h; h = nullptr; return r; }
};

#define SHIM_CHECK(expr, what)                                                            \
  do {                                                                                    \
    if ((expr) != AOTI_TORCH_SUCCESS) return shim_error(std::string("aotgemm: ") + what); \
  } while (0)

AOTITorchError shim_error(const std::string& msg) {
  set_last_error(msg);
  fprintf(stderr, "%s\n", msg.c_str());
  return AOTI_TORCH_FAILURE;
}

// DLPack's type of an aotgemm dtype (an index into aotgemm_dtype_name).
DLDataType dl_dtype(int dtype) {
  DLDataType t;
  t.code = strcmp(aotgemm_dtype_name[dtype], "bfloat16") == 0 ? kDLBfloat : kDLFloat;
  t.bits = (uint8_t)(8 * aotgemm_dtype_bytes[dtype]);
  t.lanes = 1;
  return t;
}

// aotgemm's dtype index of an AOTI dtype code, -1 for one kernels do not exist for.
int dtype_of(int32_t code) {
  static const int32_t bf16 = aoti_torch_dtype_bfloat16(), f16 = aoti_torch_dtype_float16();
  const char* name = code == bf16 ? "bfloat16" : code == f16 ? "float16" : "";
  return dtype_index(name);
}


std::atomic<int> g_stream_as_ptr{0};

// Run kernel `kern` with the arguments of its epilogue's call convention (aotgemm_epilogue_call).
AOTITorchError run_kernel(const Kernel& kern, int epilogue, DLTensor* A, DLTensor* B, DLTensor* O, DLTensor* bias,
                          DLTensor* residual, void* stream, int64_t M, int64_t N, int64_t K) {
  try {
    for (int attempt = 0; attempt < 2; attempt++) {
      const bool as_ptr = g_stream_as_ptr.load(std::memory_order_relaxed) != 0;
      tvm::ffi::AnyView args[AOTGEMM_MAX_OPERANDS];
      int n = 0;
      for (const int* op = aotgemm_epilogue_call[epilogue]; *op >= 0 && n < AOTGEMM_MAX_OPERANDS; ++op) {
        switch (*op) {
          case AOTGEMM_OPERAND_X: args[n++] = A; break;
          case AOTGEMM_OPERAND_WT: args[n++] = B; break;
          case AOTGEMM_OPERAND_OUT: args[n++] = O; break;
          case AOTGEMM_OPERAND_BIAS: args[n++] = bias; break;
          case AOTGEMM_OPERAND_RESIDUAL: args[n++] = residual; break;
          case AOTGEMM_OPERAND_STREAM:
            if (as_ptr) args[n++] = stream; else args[n++] = reinterpret_cast<int64_t>(stream);
            break;
          default:
            return shim_error(fmt("aotgemm: kernel %s takes an operand (kind %d) this libaotgemm_aoti does not "
                                  "know; rebuild it from this aotgemm", kern.symbol.c_str(), *op));
        }
      }
      try {
        tvm::ffi::Any rv;
        kern.fn.CallPacked(args, n, &rv);
        return AOTI_TORCH_SUCCESS;
      } catch (const tvm::ffi::Error& e) {
        // A library that types its stream parameter as an opaque pointer: use that from now on.
        if (as_ptr || e.kind() != "TypeError") throw;
        g_stream_as_ptr.store(1, std::memory_order_relaxed);
      }
    }
    return AOTI_TORCH_FAILURE;
  } catch (const std::exception& e) {
    return shim_error(fmt("aotgemm: kernel %s failed (M=%lld N=%lld K=%lld): %s", kern.symbol.c_str(), (long long)M,
                          (long long)N, (long long)K, e.what()));
  }
}

// silu(gate) * up of a plain GEMM output `plain` [..., N] (N = 2 I): Epilogue swiglu's unfused form, through
// the dispatcher (device-generic: the AOTI C shims have no silu). Returns a new [..., I] tensor.
AOTITorchError swiglu_unfused(AtenTensorHandle plain, int64_t ndim, const int64_t* lead_sizes, int64_t M, int64_t N,
                              AtenTensorHandle* ret) {
  const int64_t I = N / 2;
  int64_t hs[2] = {M, I}, hst[2] = {N, 1};
  Handle up;
  AtenTensorHandle gate = nullptr;  // handed to the dispatcher, which takes ownership
  SHIM_CHECK(aoti_torch__reinterpret_tensor(plain, 2, hs, hst, 0, &gate), "reinterpret gate");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(plain, 2, hs, hst, I, &up.h), "reinterpret up");
  StableIValue stack[2] = {reinterpret_cast<StableIValue>(gate), 0};
  SHIM_CHECK(aoti_torch_call_dispatcher("aten::silu", "", stack), "silu (swiglu epilogue)");
  AtenTensorHandle up_ref = nullptr;  // a second handle on `up`, for the dispatcher to consume
  SHIM_CHECK(aoti_torch_new_tensor_handle(up.h, &up_ref), "new_tensor_handle");
  StableIValue mul[2] = {stack[0], reinterpret_cast<StableIValue>(up_ref)};
  SHIM_CHECK(aoti_torch_call_dispatcher("aten::mul", "Tensor", mul), "mul (swiglu epilogue)");
  Handle prod;
  prod.h = reinterpret_cast<AtenTensorHandle>(mul[0]);
  std::vector<int64_t> osz(lead_sizes, lead_sizes + ndim), ost(ndim);
  osz[ndim - 1] = I;
  int64_t acc = 1;
  for (int64_t i = ndim - 1; i >= 0; i--) { ost[i] = acc; acc *= std::max<int64_t>(osz[i], 1); }
  SHIM_CHECK(aoti_torch__reinterpret_tensor(prod.h, ndim, osz.data(), ost.data(), 0, ret), "reinterpret swiglu out");
  return AOTI_TORCH_SUCCESS;
}

// One call of the op serving epilogue `want` (identity, bias, swiglu or residual_add), with its one epilogue
// operand `extra` (the bias or the residual; null for identity and swiglu).
AOTITorchError gemm(bool cuda, int want, AtenTensorHandle x, AtenTensorHandle w, AtenTensorHandle extra,
                    AtenTensorHandle* ret0) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s)
    return shim_error("aotgemm: aoti_torch_*_aotgemm_linear* was called before the aotgemm AOTI runtime was "
                      "initialised: load the package with aotgemm.aoti.load(path) (Python) or call "
                      "aotgemm_aoti_init(path, ...) before running it (C++; see examples/cpp)");
  const DeviceOps& ops = cuda ? cuda_ops() : cpu_ops();
  if (!ops.mm || !ops.addmm || !ops.add || (cuda && !ops.stream))
    return shim_error("aotgemm: the CUDA C shims of libtorch_cuda (aoti_torch_cuda_mm_out, ...) were not found");
  const bool is_bias = want == epilogue_bias(), is_swiglu = want == epilogue_swiglu(),
             is_residual = want == epilogue_residual_add();

  // ---- the call, as aotgemm.runtime.ops.check_inputs / epilogue_ops._check check it (malformed calls are errors)
  int64_t xdim = 0, wdim = 0;
  SHIM_CHECK(aoti_torch_get_dim(x, &xdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(w, &wdim), "get_dim");
  if (xdim < 1 || wdim != 2)
    return shim_error(fmt("aotgemm: linear needs x of rank >= 1 and a 2-D weight, got %lld and %lld",
                          (long long)xdim, (long long)wdim));
  int64_t *xs, *xst, *ws, *wst;
  SHIM_CHECK(aoti_torch_get_sizes(x, &xs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(x, &xst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(w, &ws), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(w, &wst), "get_strides");
  const int64_t N = ws[0], K = ws[1];
  if (xs[xdim - 1] != K)
    return shim_error(fmt("aotgemm: linear: x has %lld features, the weight %lld", (long long)xs[xdim - 1],
                          (long long)K));
  if (is_swiglu && N % 2)
    return shim_error(fmt("aotgemm: linear_swiglu: the weight must be [gate; up] (an even N), got N=%lld",
                          (long long)N));
  int64_t M = 1;
  for (int64_t i = 0; i + 1 < xdim; i++) M *= xs[i];
  int32_t dtype, wdtype, dev_type, dev_index;
  SHIM_CHECK(aoti_torch_get_dtype(x, &dtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(w, &wdtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &dev_index), "get_device_index");
  if (wdtype != dtype) return shim_error("aotgemm: linear: x and the weight have different dtypes");
  int64_t edim = 0, *es = nullptr, *est = nullptr;
  if (extra) {
    int32_t edtype;
    SHIM_CHECK(aoti_torch_get_dim(extra, &edim), "get_dim");
    SHIM_CHECK(aoti_torch_get_sizes(extra, &es), "get_sizes");
    SHIM_CHECK(aoti_torch_get_strides(extra, &est), "get_strides");
    SHIM_CHECK(aoti_torch_get_dtype(extra, &edtype), "get_dtype");
    if (is_bias && (edim != 1 || es[0] != N || edtype != dtype))
      return shim_error(fmt("aotgemm: linear: the bias must be [N=%lld] of x's dtype", (long long)N));
    if (is_residual) {
      bool ok = edim == xdim && es[xdim - 1] == N && edtype == dtype;
      for (int64_t i = 0; ok && i + 1 < xdim; i++) ok = es[i] == xs[i];
      if (!ok)
        return shim_error(fmt("aotgemm: linear_residual: the residual must have x's leading dims + [N=%lld] and "
                              "x's dtype", (long long)N));
    }
  }

  // ---- the rule (aotgemm.dispatch_rule.decide)
  const int dt = dtype_of(dtype);
  RuleInput in;
  in.loaded = true;
  in.fallback = !s->warning.empty();  // a non-strict GPU/driver mismatch: no library loaded
  in.dtype_supported = dt >= 0;
  in.device = cuda ? (dev_index == s->device_index ? 0 : 2) : (s->cpu_kernels ? 0 : 1);
  in.m = M; in.n = N; in.k = K;
  int used = epilogue_identity(), kidx = -2;
  if (dt >= 0 && !s->buckets.empty())
    kidx = lookup(*s, dt, want, N, K, aotgemm_bucket_for(M, s->buckets.data(), s->buckets.size()), &used);
  const bool fused = used == want && want != epilogue_identity();
  const Kernel* kern = kidx >= 0 ? &s->kernels[kidx] : nullptr;
  in.entry = kidx == -2 ? 0 : kidx == -1 ? 1 : 2;
  if (kern) { in.alignment = kern->alignment; in.max_m = kern->max_m; in.x_row_stride = kern->x_row_stride; }
  int64_t x_row = 0;
  in.x_row_valid = rows(xdim, xs, xst, &x_row);
  in.x_row = x_row;
  in.w_stride0 = wst[0]; in.w_stride1 = wst[1];
  const int extra_kind = is_bias ? AOTGEMM_OPERAND_BIAS : AOTGEMM_OPERAND_RESIDUAL;
  in.operands_contiguous = !fused || !extra ||
                           operand_contiguous(aotgemm_operand_is_rows[extra_kind], M, N, edim, es, est);
  void *px = nullptr, *pw = nullptr, *pe = nullptr;
  SHIM_CHECK(aoti_torch_get_data_ptr(x, &px), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(w, &pw), "get_data_ptr");
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)px;
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pw;
  if (fused && extra) {
    SHIM_CHECK(aoti_torch_get_data_ptr(extra, &pe), "get_data_ptr");
    in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pe;
  }
  in.element_bytes = dt >= 0 ? aotgemm_dtype_bytes[dt] : 0;
  const int reason = decide(in);
  count(reason);

  // out: x's leading dims + [N] (a fused swiglu kernel's: + [N/2]), contiguous
  const int64_t n_out = reason == AOTGEMM_HIT && fused && is_swiglu ? N / 2 : N;
  std::vector<int64_t> osz(xs, xs + xdim), ost(xdim);
  osz[xdim - 1] = n_out;
  int64_t acc = 1;
  for (int64_t i = xdim - 1; i >= 0; i--) { ost[i] = acc; acc *= std::max<int64_t>(osz[i], 1); }
  Handle out;
  SHIM_CHECK(aoti_torch_empty_strided(xdim, osz.data(), ost.data(), dtype, dev_type, dev_index, &out.h), "empty_strided");

  if (reason == AOTGEMM_HIT) {
    void *po = nullptr, *stream = nullptr;
    SHIM_CHECK(aoti_torch_get_data_ptr(out.h, &po), "get_data_ptr");
    if (cuda) SHIM_CHECK(ops.stream(dev_index, &stream), "get_current_cuda_stream");
    DLDevice dev{cuda ? kDLCUDA : kDLCPU, dev_index < 0 ? 0 : dev_index};
    int64_t a_shape[2] = {M, K}, a_strides[2] = {x_row, 1};
    int64_t b_shape[2] = {K, N}, b_strides[2] = {1, wst[0]};
    int64_t o_shape[2] = {M, n_out}, o_strides[2] = {n_out, 1};
    int64_t c_shape[1] = {N}, c_strides[1] = {1};
    int64_t r_shape[2] = {M, N}, r_strides[2] = {N, 1};
    DLTensor A{px, dev, 2, dl_dtype(dt), a_shape, a_strides, 0};
    DLTensor B{pw, dev, 2, dl_dtype(dt), b_shape, b_strides, 0};
    DLTensor O{po, dev, 2, dl_dtype(dt), o_shape, o_strides, 0};
    DLTensor C{pe, dev, 1, dl_dtype(dt), c_shape, c_strides, 0};
    DLTensor R{pe, dev, 2, dl_dtype(dt), r_shape, r_strides, 0};
    // The stream goes both ways a TVM-FFI kernel may read it: as the argument (an integer
    // cudaStream_t) and as the TVM-FFI environment stream.
    if (cuda) TVMFFIEnvSetStream(kDLCUDA, dev.device_id, stream, nullptr);
    if (AOTITorchError rc = run_kernel(*kern, used, &A, &B, &O, &C, &R, stream, M, N, K)) return rc;
    if (!fused && want != epilogue_identity()) {  // the identity problem's kernel, then the epilogue unfused
      if (is_swiglu) return swiglu_unfused(out.h, xdim, xs, M, N, ret0);
      Handle sum;
      SHIM_CHECK(ops.add(out.h, extra, 1.0, &sum.h), "add (bias / residual epilogue)");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    *ret0 = out.release();
    return AOTI_TORCH_SUCCESS;
  }

  // ---- cuBLAS (CPU: ATen) through the AOTI C shim, on 2-D views of x, W^T and out; then the epilogue
  Handle xcopy, x2, wt, o2, r2;
  AtenTensorHandle xv = x;
  int64_t x2st[2] = {x_row, 1};
  if (!in.x_row_valid) {
    if (xdim == 2) {  // mm takes any 2-D strides
      x2st[0] = xst[0]; x2st[1] = xst[1];
    } else {          // leading dims that do not collapse: a contiguous copy (what F.linear does too)
      std::vector<int64_t> cst(xdim);
      int64_t a = 1;
      for (int64_t i = xdim - 1; i >= 0; i--) { cst[i] = a; a *= std::max<int64_t>(xs[i], 1); }
      SHIM_CHECK(aoti_torch_empty_strided(xdim, xs, cst.data(), dtype, dev_type, dev_index, &xcopy.h), "empty_strided");
      SHIM_CHECK(aoti_torch_copy_(xcopy.h, x, 0), "copy_");
      xv = xcopy.h;
      x2st[0] = K; x2st[1] = 1;
    }
  }
  // _reinterpret_tensor's offset is an increment on the tensor's own storage offset: 0 keeps it.
  int64_t x2s[2] = {M, K};
  int64_t wts[2] = {K, N}, wtst[2] = {wst[1], wst[0]};
  int64_t o2s[2] = {M, N}, o2st[2] = {N, 1};
  SHIM_CHECK(aoti_torch__reinterpret_tensor(xv, 2, x2s, x2st, 0, &x2.h), "reinterpret x");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(w, 2, wts, wtst, 0, &wt.h), "reinterpret weight");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(out.h, 2, o2s, o2st, 0, &o2.h), "reinterpret out");
  int64_t r_row = 0;
  if (is_bias) {
    SHIM_CHECK(ops.addmm(o2.h, extra, x2.h, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else if (is_residual && rows(edim, es, est, &r_row)) {  // the residual as addmm's input: one cuBLAS call
    int64_t r2st[2] = {r_row, 1};
    SHIM_CHECK(aoti_torch__reinterpret_tensor(extra, 2, o2s, r2st, 0, &r2.h), "reinterpret residual");
    SHIM_CHECK(ops.addmm(o2.h, r2.h, x2.h, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else {
    SHIM_CHECK(ops.mm(o2.h, x2.h, wt.h), "mm_out (fallback)");
    if (is_residual) {
      Handle sum;
      SHIM_CHECK(ops.add(out.h, extra, 1.0, &sum.h), "add residual (fallback)");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    if (is_swiglu) return swiglu_unfused(out.h, xdim, xs, M, N, ret0);
  }
  *ret0 = out.release();
  return AOTI_TORCH_SUCCESS;
}

}  // namespace
}  // namespace aotgemm

// ---- the shims the generated AOTI wrapper calls
// (torch._inductor.config.aot_inductor.custom_ops_to_c_shims; names: aoti_torch_<device>_<op name>)
extern "C" {

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear(AtenTensorHandle x, AtenTensorHandle weight,
                                                             AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  AtenTensorHandle b = bias ? *bias : nullptr;
  return aotgemm::gemm(true, b ? aotgemm::epilogue_bias() : aotgemm::epilogue_identity(), x, weight, b, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear(AtenTensorHandle x, AtenTensorHandle weight,
                                                            AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  AtenTensorHandle b = bias ? *bias : nullptr;
  return aotgemm::gemm(false, b ? aotgemm::epilogue_bias() : aotgemm::epilogue_identity(), x, weight, b, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear_swiglu(AtenTensorHandle x, AtenTensorHandle weight,
                                                                    AtenTensorHandle* ret0) {
  return aotgemm::gemm(true, aotgemm::epilogue_swiglu(), x, weight, nullptr, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear_swiglu(AtenTensorHandle x, AtenTensorHandle weight,
                                                                   AtenTensorHandle* ret0) {
  return aotgemm::gemm(false, aotgemm::epilogue_swiglu(), x, weight, nullptr, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear_residual(AtenTensorHandle x, AtenTensorHandle weight,
                                                                      AtenTensorHandle residual, AtenTensorHandle* ret0) {
  return aotgemm::gemm(true, aotgemm::epilogue_residual_add(), x, weight, residual, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear_residual(AtenTensorHandle x, AtenTensorHandle weight,
                                                                     AtenTensorHandle residual, AtenTensorHandle* ret0) {
  return aotgemm::gemm(false, aotgemm::epilogue_residual_add(), x, weight, residual, ret0);
}

}  // extern "C"
