// What serves a call the rule sends to torch (shim.h): cuBLAS (CPU: ATen) through the AOTI C shims for
// aotgemm_linear and the fused-epilogue ops, then their epilogue unfused; torch._scaled_mm for
// aotgemm_scaled_mm. CUDA symbols are looked up at run time in libtorch_cuda, so the same source
// builds against CPU and CUDA torch.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "shim.h"

namespace aotgemm {
namespace {

void* cuda_sym(const char* name) {
  static void* handle = [] {
    void* h = dlopen("libtorch_cuda.so", RTLD_NOLOAD | RTLD_LAZY);
    return h ? h : RTLD_DEFAULT;
  }();
  void* p = dlsym(handle, name);
  return p ? p : dlsym(RTLD_DEFAULT, name);
}

// torch_new_string_handle, the stable C ABI's string (torch >= 2.10), looked up at run time like the CUDA shims: its
// declaration sits in a header whose path and feature guards have moved between torch versions.
using NewStringHandle = AOTITorchError (*)(const char* data, size_t length, void** handle);

NewStringHandle new_string_handle() {
  static NewStringHandle f = reinterpret_cast<NewStringHandle>(dlsym(RTLD_DEFAULT, "torch_new_string_handle"));
  return f;
}

}  // namespace

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

AOTITorchError shim_error(const std::string& msg) {
  set_last_error(msg);
  fprintf(stderr, "%s\n", msg.c_str());
  return AOTI_TORCH_FAILURE;
}

// Through the dispatcher (device-generic: the AOTI C shims have no silu or gelu). The activation's aten op and
// its `approximate` string come from the generated header (aotgemm.epilogues.Gate), so a new gated epilogue
// needs nothing here.
AOTITorchError gated_unfused(int e, AtenTensorHandle plain, int64_t ndim, const int64_t* lead_sizes, int64_t M,
                             int64_t N, AtenTensorHandle* ret) {
  const int64_t I = N / 2;
  int64_t hs[2] = {M, I}, hst[2] = {N, 1};
  Handle up;
  AtenTensorHandle gate = nullptr;  // handed to the dispatcher, which takes ownership
  SHIM_CHECK(aoti_torch__reinterpret_tensor(plain, 2, hs, hst, 0, &gate), "reinterpret gate");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(plain, 2, hs, hst, I, &up.h), "reinterpret up");
  StableIValue stack[2] = {reinterpret_cast<StableIValue>(gate), 0};
  if (const char* approximate = aotgemm_epilogue_gate_approximate[e]) {
    if (!new_string_handle())
      return shim_error(fmt("aotgemm: linear_%s's unfused form needs torch_new_string_handle (torch >= 2.10), "
                            "which this torch does not export; upgrade torch", aotgemm_epilogue_name[e]));
    void* arg = nullptr;  // a StringHandle, owned by the dispatcher once passed
    SHIM_CHECK(new_string_handle()(approximate, strlen(approximate), &arg), "new_string_handle");
    stack[1] = reinterpret_cast<StableIValue>(arg);
  }
  SHIM_CHECK(aoti_torch_call_dispatcher(aotgemm_epilogue_gate_op[e], "", stack), "gate activation (gated epilogue)");
  AtenTensorHandle up_ref = nullptr;  // a second handle on `up`, for the dispatcher to consume
  SHIM_CHECK(aoti_torch_new_tensor_handle(up.h, &up_ref), "new_tensor_handle");
  StableIValue mul[2] = {stack[0], reinterpret_cast<StableIValue>(up_ref)};
  SHIM_CHECK(aoti_torch_call_dispatcher("aten::mul", "Tensor", mul), "mul (gated epilogue)");
  Handle prod;
  prod.h = reinterpret_cast<AtenTensorHandle>(mul[0]);
  std::vector<int64_t> osz(lead_sizes, lead_sizes + ndim), ost(ndim);
  osz[ndim - 1] = I;
  int64_t acc = 1;
  for (int64_t i = ndim - 1; i >= 0; i--) { ost[i] = acc; acc *= std::max<int64_t>(osz[i], 1); }
  SHIM_CHECK(aoti_torch__reinterpret_tensor(prod.h, ndim, osz.data(), ost.data(), 0, ret), "reinterpret gated out");
  return AOTI_TORCH_SUCCESS;
}

namespace {

// torch's _scaled_mm.out through its AOTI C shim (libtorch_cuda / libtorch_cpu), looked up at run time.
using ScaledMmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, AtenTensorHandle,
                                       AtenTensorHandle, AtenTensorHandle*, AtenTensorHandle*, int32_t*, int32_t);

ScaledMmOut scaled_mm_out(bool cuda) {
  static ScaledMmOut c = reinterpret_cast<ScaledMmOut>(cuda_sym("aoti_torch_cuda__scaled_mm_out"));
  static ScaledMmOut h = reinterpret_cast<ScaledMmOut>(dlsym(RTLD_DEFAULT, "aoti_torch_cpu__scaled_mm_out"));
  return cuda ? c : h;
}


// A contiguous float32 copy of `t` viewed as [rows, cols] with strides (s0, s1) (a broadcast, for
// _scaled_mm's row-wise form).
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

}  // namespace

bool has_scaled_mm_out(bool cuda) { return scaled_mm_out(cuda) != nullptr; }

// A per-tensor scale_a with per-column scale_b takes _scaled_mm's row-wise form.
AOTITorchError scaled_mm_fallback(const Call& c, Handle& out, int32_t out_code, AtenTensorHandle* ret0) {
  ScaledMmOut fallback_mm = scaled_mm_out(c.cuda);
  const Operand& a = c.operand[AOTGEMM_OPERAND_SCALE_A];
  const Operand& b = c.operand[AOTGEMM_OPERAND_SCALE_B];
  Handle sa2, sb2;
  AtenTensorHandle a_use = a.h, b_use = b.h;
  if (c.scale_form == AOTGEMM_SCALES_ROW) {
    if (AOTITorchError rc = contiguous_view(a.h, c.M, 1, 0, 0, c.dev_type, c.dev_index, &sa2)) return rc;
    if (AOTITorchError rc = contiguous_view(b.h, 1, c.N, 0, b.strides[b.ndim - 1], c.dev_type, c.dev_index, &sb2))
      return rc;
    a_use = sa2.h; b_use = sb2.h;
  } else if (c.scale_form == AOTGEMM_SCALES_ROWWISE) {
    // _scaled_mm's row-wise form takes contiguous scales only; the op takes any strides (as the Python op)
    if (a.strides[0] != 1) {
      if (AOTITorchError rc = contiguous_view(a.h, c.M, 1, a.strides[0], 0, c.dev_type, c.dev_index, &sa2)) return rc;
      a_use = sa2.h;
    }
    if (b.strides[1] != 1) {
      if (AOTITorchError rc = contiguous_view(b.h, 1, c.N, 0, b.strides[1], c.dev_type, c.dev_index, &sb2)) return rc;
      b_use = sb2.h;
    }
  }
  int32_t out_dtype = out_code;
  SHIM_CHECK(fallback_mm(out.h, c.x, c.w, a_use, b_use, nullptr, nullptr, &out_dtype, 0), "_scaled_mm_out (fallback)");
  *ret0 = out.release();
  return AOTI_TORCH_SUCCESS;
}

// Through the AOTI C shim, on 2-D views of x, W^T and out.
AOTITorchError linear_fallback(const Call& c, const DeviceOps& ops, bool x_row_valid, int64_t x_row, Handle& out,
                               AtenTensorHandle* ret0) {
  const bool is_bias = c.want == epilogue_bias(), is_gated = epilogue_gated(c.want),
             is_residual = c.want == epilogue_residual_add();
  const Operand& e = c.operand[is_bias ? AOTGEMM_OPERAND_BIAS : AOTGEMM_OPERAND_RESIDUAL];
  const int64_t xdim = c.xdim, *xs = c.xs, *xst = c.xst, M = c.M, N = c.N, K = c.K;
  Handle xcopy, x2, wt, o2, r2;
  AtenTensorHandle xv = c.x;
  int64_t x2st[2] = {x_row, 1};
  if (!x_row_valid) {
    if (xdim == 2) {  // mm takes any 2-D strides
      x2st[0] = xst[0]; x2st[1] = xst[1];
    } else {          // leading dims that do not collapse: a contiguous copy (what F.linear does too)
      std::vector<int64_t> cst(xdim);
      int64_t a = 1;
      for (int64_t i = xdim - 1; i >= 0; i--) { cst[i] = a; a *= std::max<int64_t>(xs[i], 1); }
      SHIM_CHECK(aoti_torch_empty_strided(xdim, xs, cst.data(), c.dtype, c.dev_type, c.dev_index, &xcopy.h),
                 "empty_strided");
      SHIM_CHECK(aoti_torch_copy_(xcopy.h, c.x, 0), "copy_");
      xv = xcopy.h;
      x2st[0] = K; x2st[1] = 1;
    }
  }
  // _reinterpret_tensor's offset is an increment on the tensor's own storage offset: 0 keeps it. A 2-D x
  // (with the strides the view would have) and a 2-D out are used as they are: each view is a TensorImpl
  // made and freed per call, about a quarter of this fallback's host time, and Inductor's own mm call
  // makes only W^T's.
  int64_t x2s[2] = {M, K};
  int64_t wts[2] = {K, N}, wtst[2] = {c.w_stride1, c.w_stride0};
  int64_t o2s[2] = {M, N}, o2st[2] = {N, 1};
  const bool x_as_is = xv == c.x && xdim == 2 && xst[0] == x2st[0] && xst[1] == x2st[1];
  if (!x_as_is) SHIM_CHECK(aoti_torch__reinterpret_tensor(xv, 2, x2s, x2st, 0, &x2.h), "reinterpret x");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(c.w, 2, wts, wtst, 0, &wt.h), "reinterpret weight");
  if (xdim != 2) SHIM_CHECK(aoti_torch__reinterpret_tensor(out.h, 2, o2s, o2st, 0, &o2.h), "reinterpret out");
  const AtenTensorHandle x_mm = x_as_is ? c.x : x2.h, out_mm = xdim == 2 ? out.h : o2.h;
  int64_t r_row = 0;
  if (is_bias) {
    SHIM_CHECK(ops.addmm(out_mm, e.h, x_mm, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else if (is_residual && rows(e.ndim, e.sizes, e.strides, &r_row)) {  // the residual as addmm's input: one cuBLAS call
    int64_t r2st[2] = {r_row, 1};
    SHIM_CHECK(aoti_torch__reinterpret_tensor(e.h, 2, o2s, r2st, 0, &r2.h), "reinterpret residual");
    SHIM_CHECK(ops.addmm(out_mm, r2.h, x_mm, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else {
    SHIM_CHECK(ops.mm(out_mm, x_mm, wt.h), "mm_out (fallback)");
    if (is_residual) {
      Handle sum;
      SHIM_CHECK(ops.add(out.h, e.h, 1.0, &sum.h), "add residual (fallback)");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    if (is_gated) return gated_unfused(c.want, out.h, xdim, xs, M, N, ret0);
  }
  *ret0 = out.release();
  return AOTI_TORCH_SUCCESS;
}

}  // namespace aotgemm
