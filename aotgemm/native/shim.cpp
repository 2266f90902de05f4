// aoti_torch_{cuda,cpu}_aotgemm_linear: the AOTInductor C shims of aotgemm::aotgemm_linear, and
// aoti_torch_{cuda,cpu}_aotgemm_scaled_mm: those of aotgemm::aotgemm_scaled_mm (fp8).
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
  const char* name = aotgemm_dtype_name[dtype];
  t.code = strcmp(name, "bfloat16") == 0 ? kDLBfloat : strcmp(name, "float8_e4m3fn") == 0 ? kDLFloat8_e4m3fn : kDLFloat;
  t.bits = (uint8_t)(8 * aotgemm_dtype_bytes[dtype]);
  t.lanes = 1;
  return t;
}

// The AOTI dtype code of a dtype name of the generated header (-1 for none).
int32_t aoti_dtype_code(const char* name) {
  if (strcmp(name, "bfloat16") == 0) return aoti_torch_dtype_bfloat16();
  if (strcmp(name, "float16") == 0) return aoti_torch_dtype_float16();
  if (strcmp(name, "float8_e4m3fn") == 0) return aoti_torch_dtype_float8_e4m3fn();
  if (strcmp(name, "float32") == 0) return aoti_torch_dtype_float32();
  return -1;
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
                          void* stream, int64_t M, int64_t N, int64_t K, DLTensor* scale_a = nullptr,
                          DLTensor* scale_b = nullptr) {
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
          case AOTGEMM_OPERAND_SCALE_A: args[n++] = scale_a; break;
          case AOTGEMM_OPERAND_SCALE_B: args[n++] = scale_b; break;
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

AOTITorchError linear(bool cuda, AtenTensorHandle x, AtenTensorHandle w, AtenTensorHandle* bias_p,
                      AtenTensorHandle* ret0) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s)
    return shim_error("aotgemm: aoti_torch_*_aotgemm_linear was called before the aotgemm AOTI runtime was "
                      "initialised: load the package with aotgemm.aoti.load(path) (Python) or call "
                      "aotgemm_aoti_init(path, ...) before running it (C++; see examples/cpp)");
  const DeviceOps& ops = cuda ? cuda_ops() : cpu_ops();
  if (!ops.mm || !ops.addmm || !ops.add || (cuda && !ops.stream))
    return shim_error("aotgemm: the CUDA C shims of libtorch_cuda (aoti_torch_cuda_mm_out, ...) were not found");
  AtenTensorHandle bias = bias_p ? *bias_p : nullptr;

  // ---- the call, as aotgemm.runtime.ops.check_inputs checks it (malformed calls are errors)
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
  int64_t M = 1;
  for (int64_t i = 0; i + 1 < xdim; i++) M *= xs[i];
  int32_t dtype, wdtype, dev_type, dev_index;
  SHIM_CHECK(aoti_torch_get_dtype(x, &dtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(w, &wdtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &dev_index), "get_device_index");
  if (wdtype != dtype) return shim_error("aotgemm: linear: x and the weight have different dtypes");
  int64_t bias_stride = 1;
  if (bias) {
    int64_t bdim = 0, *bs, *bst;
    int32_t bdtype;
    SHIM_CHECK(aoti_torch_get_dim(bias, &bdim), "get_dim");
    SHIM_CHECK(aoti_torch_get_sizes(bias, &bs), "get_sizes");
    SHIM_CHECK(aoti_torch_get_strides(bias, &bst), "get_strides");
    SHIM_CHECK(aoti_torch_get_dtype(bias, &bdtype), "get_dtype");
    if (bdim != 1 || bs[0] != N || bdtype != dtype)
      return shim_error(fmt("aotgemm: linear: the bias must be [N=%lld] of x's dtype", (long long)N));
    bias_stride = bst[0];
  }

  // ---- the rule (aotgemm.dispatch_rule.decide)
  const int dt = dtype_of(dtype);
  RuleInput in;
  in.loaded = true;
  in.fallback = !s->warning.empty();  // a non-strict GPU/driver mismatch: no library loaded
  in.dtype_supported = dt >= 0;
  in.device = cuda ? (dev_index == s->device_index ? 0 : 2) : (s->cpu_kernels ? 0 : 1);
  in.m = M; in.n = N; in.k = K;
  int epilogue = epilogue_identity(), kidx = -2;
  if (dt >= 0 && !s->buckets.empty())
    kidx = lookup(*s, dt, bias != nullptr, N, K, aotgemm_bucket_for(M, s->buckets.data(), s->buckets.size()),
                  &epilogue);
  const bool fused = epilogue == epilogue_bias();
  const Kernel* kern = kidx >= 0 ? &s->kernels[kidx] : nullptr;
  in.entry = kidx == -2 ? 0 : kidx == -1 ? 1 : 2;
  if (kern) { in.alignment = kern->alignment; in.max_m = kern->max_m; in.x_row_stride = kern->x_row_stride; }
  int64_t x_row = 0;
  in.x_row_valid = rows(xdim, xs, xst, &x_row);
  in.x_row = x_row;
  in.w_stride0 = wst[0]; in.w_stride1 = wst[1];
  in.operands_contiguous = !fused || bias_stride == 1;
  void *px = nullptr, *pw = nullptr, *pb = nullptr;
  SHIM_CHECK(aoti_torch_get_data_ptr(x, &px), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(w, &pw), "get_data_ptr");
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)px;
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pw;
  if (fused) {
    SHIM_CHECK(aoti_torch_get_data_ptr(bias, &pb), "get_data_ptr");
    in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pb;
  }
  in.element_bytes = dt >= 0 ? aotgemm_dtype_bytes[dt] : 0;
  const int reason = decide(in);
  count(reason);

  // out: x's leading dims + [N], contiguous
  std::vector<int64_t> osz(xs, xs + xdim), ost(xdim);
  osz[xdim - 1] = N;
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
    int64_t o_shape[2] = {M, N}, o_strides[2] = {N, 1};
    int64_t c_shape[1] = {N}, c_strides[1] = {1};
    DLTensor A{px, dev, 2, dl_dtype(dt), a_shape, a_strides, 0};
    DLTensor B{pw, dev, 2, dl_dtype(dt), b_shape, b_strides, 0};
    DLTensor O{po, dev, 2, dl_dtype(dt), o_shape, o_strides, 0};
    DLTensor C{pb, dev, 1, dl_dtype(dt), c_shape, c_strides, 0};
    // The stream goes both ways a TVM-FFI kernel may read it: as the argument (an integer
    // cudaStream_t) and as the TVM-FFI environment stream.
    if (cuda) TVMFFIEnvSetStream(kDLCUDA, dev.device_id, stream, nullptr);
    if (AOTITorchError rc = run_kernel(*kern, epilogue, &A, &B, &O, &C, stream, M, N, K)) return rc;
    if (bias && !fused) {  // the bias epilogue, unfused
      Handle sum;
      SHIM_CHECK(ops.add(out.h, bias, 1.0, &sum.h), "add bias");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    *ret0 = out.release();
    return AOTI_TORCH_SUCCESS;
  }

  // ---- cuBLAS (CPU: ATen) through the AOTI C shim, on 2-D views of x, W^T and out
  Handle xcopy, x2, wt, o2;
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
  if (bias) {
    SHIM_CHECK(ops.addmm(o2.h, bias, x2.h, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else {
    SHIM_CHECK(ops.mm(o2.h, x2.h, wt.h), "mm_out (fallback)");
  }
  *ret0 = out.release();
  return AOTI_TORCH_SUCCESS;
}

// torch's _scaled_mm.out through its AOTI C shim (libtorch_cuda / libtorch_cpu), looked up at run time.
using ScaledMmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, AtenTensorHandle,
                                       AtenTensorHandle, AtenTensorHandle*, AtenTensorHandle*, int32_t*, int32_t);

ScaledMmOut scaled_mm_out(bool cuda) {
  static ScaledMmOut c = reinterpret_cast<ScaledMmOut>(cuda_sym("aoti_torch_cuda__scaled_mm_out"));
  static ScaledMmOut h = reinterpret_cast<ScaledMmOut>(dlsym(RTLD_DEFAULT, "aoti_torch_cpu__scaled_mm_out"));
  return cuda ? c : h;
}

// A contiguous float32 copy of `t` viewed with `sizes` and `strides` (a broadcast, for _scaled_mm's row-wise form).
AOTITorchError contiguous_view(AtenTensorHandle t, int64_t rows, int64_t cols, int64_t s0, int64_t s1,
                               int32_t dev_type, int32_t dev_index, Handle* out) {
  Handle view;
  int64_t sz[2] = {rows, cols}, st[2] = {s0, s1}, cst[2] = {cols, 1};
  SHIM_CHECK(aoti_torch__reinterpret_tensor(t, 2, sz, st, 0, &view.h), "reinterpret scale");
  SHIM_CHECK(aoti_torch_empty_strided(2, sz, cst, aoti_torch_dtype_float32(), dev_type, dev_index, &out->h),
             "empty_strided");
  SHIM_CHECK(aoti_torch_copy_(out->h, view.h, 0), "copy_ scale");
  return AOTI_TORCH_SUCCESS;
}

// aotgemm::aotgemm_scaled_mm (aotgemm/runtime/scaled_mm.py): torch._scaled_mm(x, mat2, scale_a, scale_b,
// out_dtype=bf16) on e4m3 operands, from a bundle kernel of the scale epilogue the scales select
// (scale_form), else _scaled_mm.
AOTITorchError scaled_mm(bool cuda, AtenTensorHandle x, AtenTensorHandle mat2, AtenTensorHandle sa,
                         AtenTensorHandle sb, AtenTensorHandle* ret0) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s)
    return shim_error("aotgemm: aoti_torch_*_aotgemm_scaled_mm was called before the aotgemm AOTI runtime was "
                      "initialised: load the package with aotgemm.aoti.load(path) (Python) or call "
                      "aotgemm_aoti_init(path, ...) before running it (C++; see examples/cpp)");
  ScaledMmOut fallback_mm = scaled_mm_out(cuda);
  if (!fallback_mm || (cuda && !cuda_ops().stream))
    return shim_error("aotgemm: torch's _scaled_mm C shim (aoti_torch_*__scaled_mm_out) was not found");

  // ---- the call, as aotgemm.runtime.scaled_mm.check_inputs checks it
  int64_t xdim = 0, wdim = 0, adim = 0, bdim = 0;
  SHIM_CHECK(aoti_torch_get_dim(x, &xdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(mat2, &wdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(sa, &adim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(sb, &bdim), "get_dim");
  if (xdim != 2 || wdim != 2)
    return shim_error(fmt("aotgemm: scaled_mm needs 2-D x and mat2, got %lld-D and %lld-D", (long long)xdim,
                          (long long)wdim));
  int64_t *xs, *xst, *ms, *mst, *as, *bs, *bst;
  SHIM_CHECK(aoti_torch_get_sizes(x, &xs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(x, &xst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(mat2, &ms), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(mat2, &mst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(sa, &as), "get_sizes");
  SHIM_CHECK(aoti_torch_get_sizes(sb, &bs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(sb, &bst), "get_strides");
  const int64_t M = xs[0], K = xs[1], N = ms[1];
  if (ms[0] != K)
    return shim_error(fmt("aotgemm: scaled_mm: x has K=%lld, mat2 %lld rows", (long long)K, (long long)ms[0]));
  int32_t xdt, wdt, adt, bdt, dev_type, dev_index;
  SHIM_CHECK(aoti_torch_get_dtype(x, &xdt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(mat2, &wdt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(sa, &adt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(sb, &bdt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &dev_index), "get_device_index");
  // the operands' dtypes, from the generated header (aotgemm.problem, aotgemm.epilogues)
  const int dt = dtype_index("float8_e4m3fn");
  const int32_t f8 = aoti_torch_dtype_float8_e4m3fn();
  const int32_t f32 = aoti_dtype_code(aotgemm_operand_dtype[AOTGEMM_OPERAND_SCALE_A]);
  if (dt < 0 || f32 != aoti_dtype_code(aotgemm_operand_dtype[AOTGEMM_OPERAND_SCALE_B]))
    return shim_error("aotgemm: this libaotgemm_aoti's header has no fp8 scale operands; rebuild it");
  if (xdt != f8 || wdt != f8 || adt != f32 || bdt != f32)
    return shim_error("aotgemm: scaled_mm needs float8_e4m3fn x and mat2 and float32 scales");
  const int form = scale_form(M, N, adim, as, bdim, bs);
  if (form == AOTGEMM_SCALES_INVALID)
    return shim_error(fmt("aotgemm: scaled_mm: scales of %lld-D and %lld-D do not fit M=%lld N=%lld: give one "
                          "scale each, scale_a of 1 element with scale_b [N] or [1, N], or scale_a [M, 1] with "
                          "scale_b [1, N]", (long long)adim, (long long)bdim, (long long)M, (long long)N));
  const bool row = form == AOTGEMM_SCALES_ROW;
  const char* ep_name = aotgemm_scale_form_epilogue[form];
  const int epilogue = ep_name ? epilogue_index(ep_name) : -1;

  // ---- the rule (aotgemm.dispatch_rule.decide)
  RuleInput in;
  in.loaded = true;
  in.fallback = !s->warning.empty();
  in.dtype_supported = dt >= 0;
  in.device = cuda ? (dev_index == s->device_index ? 0 : 2) : (s->cpu_kernels ? 0 : 1);
  in.m = M; in.n = N; in.k = K;
  int kidx = -2;
  if (epilogue >= 0 && dt >= 0 && !s->buckets.empty()) {
    auto it = s->dispatch.find(Key{dt, epilogue, N, K, aotgemm_bucket_for(M, s->buckets.data(), s->buckets.size())});
    if (it != s->dispatch.end()) kidx = it->second;
  }
  const Kernel* kern = kidx >= 0 ? &s->kernels[kidx] : nullptr;
  in.entry = kidx == -2 ? 0 : kidx == -1 ? 1 : 2;
  if (kern) { in.alignment = kern->alignment; in.max_m = kern->max_m; in.x_row_stride = kern->x_row_stride; }
  int64_t x_row = 0;
  in.x_row_valid = rows(2, xs, xst, &x_row);
  in.x_row = x_row;
  in.w_stride0 = mst[1]; in.w_stride1 = mst[0];  // W = mat2^T
  in.operands_contiguous = !row || bst[bdim - 1] == 1;
  void *px = nullptr, *pw = nullptr, *pa = nullptr, *pb = nullptr;
  SHIM_CHECK(aoti_torch_get_data_ptr(x, &px), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(mat2, &pw), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(sa, &pa), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(sb, &pb), "get_data_ptr");
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)px;
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pw;
  if (row) in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)pb;
  in.element_bytes = dt >= 0 ? aotgemm_dtype_bytes[dt] : 0;
  const int reason = decide(in);
  count(reason);

  Handle out;  // of the problem's output dtype (aotgemm_dtype_output: bf16 for fp8)
  int64_t osz[2] = {M, N}, ost[2] = {N, 1};
  const int out_dt = aotgemm_dtype_output[dt];
  const int32_t out_code = aoti_dtype_code(aotgemm_dtype_name[out_dt]);
  SHIM_CHECK(aoti_torch_empty_strided(2, osz, ost, out_code, dev_type, dev_index, &out.h), "empty_strided");
  if (reason == AOTGEMM_HIT) {
    void *po = nullptr, *stream = nullptr;
    SHIM_CHECK(aoti_torch_get_data_ptr(out.h, &po), "get_data_ptr");
    if (cuda) SHIM_CHECK(cuda_ops().stream(dev_index, &stream), "get_current_cuda_stream");
    DLDevice dev{cuda ? kDLCUDA : kDLCPU, dev_index < 0 ? 0 : dev_index};
    DLDataType f32t{kDLFloat, 32, 1};
    int64_t a_shape[2] = {M, K}, a_strides[2] = {x_row, 1};
    int64_t b_shape[2] = {K, N}, b_strides[2] = {1, mst[1]};
    int64_t o_shape[2] = {M, N}, o_strides[2] = {N, 1};
    int64_t sa_shape[1] = {1}, sb_shape[1] = {row ? N : 1}, unit[1] = {1};
    DLTensor A{px, dev, 2, dl_dtype(dt), a_shape, a_strides, 0};
    DLTensor B{pw, dev, 2, dl_dtype(dt), b_shape, b_strides, 0};
    DLTensor O{po, dev, 2, dl_dtype(out_dt), o_shape, o_strides, 0};
    DLTensor SA{pa, dev, 1, f32t, sa_shape, unit, 0};
    DLTensor SB{pb, dev, 1, f32t, sb_shape, unit, 0};
    if (cuda) TVMFFIEnvSetStream(kDLCUDA, dev.device_id, stream, nullptr);
    if (AOTITorchError rc = run_kernel(*kern, kern->epilogue, &A, &B, &O, nullptr, stream, M, N, K, &SA, &SB))
      return rc;
    *ret0 = out.release();
    return AOTI_TORCH_SUCCESS;
  }

  // ---- torch._scaled_mm; a per-tensor scale_a with per-column scale_b takes its row-wise form
  Handle sa2, sb2;
  AtenTensorHandle a_use = sa, b_use = sb;
  if (row) {
    if (AOTITorchError rc = contiguous_view(sa, M, 1, 0, 0, dev_type, dev_index, &sa2)) return rc;
    if (AOTITorchError rc = contiguous_view(sb, 1, N, 0, bst[bdim - 1], dev_type, dev_index, &sb2)) return rc;
    a_use = sa2.h; b_use = sb2.h;
  }
  int32_t out_dtype = out_code;
  SHIM_CHECK(fallback_mm(out.h, x, mat2, a_use, b_use, nullptr, nullptr, &out_dtype, 0), "_scaled_mm_out (fallback)");
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
  return aotgemm::linear(true, x, weight, bias, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear(AtenTensorHandle x, AtenTensorHandle weight,
                                                            AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  return aotgemm::linear(false, x, weight, bias, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_scaled_mm(AtenTensorHandle x, AtenTensorHandle mat2,
                                                                AtenTensorHandle scale_a, AtenTensorHandle scale_b,
                                                                AtenTensorHandle* ret0) {
  return aotgemm::scaled_mm(true, x, mat2, scale_a, scale_b, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_scaled_mm(AtenTensorHandle x, AtenTensorHandle mat2,
                                                               AtenTensorHandle scale_a, AtenTensorHandle scale_b,
                                                               AtenTensorHandle* ret0) {
  return aotgemm::scaled_mm(false, x, mat2, scale_a, scale_b, ret0);
}

}  // extern "C"
