// Shared by shim.cpp (the AOTInductor shims: checks, the rule, the kernel call) and fallback.cpp (what
// serves a miss: cuBLAS / ATen, torch._scaled_mm, the unfused epilogues). Not installed.
#ifndef AOTGEMM_SHIM_H_
#define AOTGEMM_SHIM_H_

#include <dlfcn.h>
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/inductor/aoti_torch/generated/c_shim_cpu.h>

#include <string>

#include "internal.h"

namespace aotgemm {

using MmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle);
using AddmmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, double, double);
using AddTensor = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, double, AtenTensorHandle*);
using GetStream = AOTITorchError (*)(int32_t, void**);

// torch's C shims a call may need, per device (CUDA ones looked up at run time in libtorch_cuda).
struct DeviceOps {
  MmOut mm = nullptr;
  AddmmOut addmm = nullptr;
  AddTensor add = nullptr;
  GetStream stream = nullptr;
};
const DeviceOps& cuda_ops();
const DeviceOps& cpu_ops();

struct Handle {  // owns an AtenTensorHandle
  AtenTensorHandle h = nullptr;
  ~Handle() { if (h) aoti_torch_delete_tensor_object(h); }
  AtenTensorHandle release() { AtenTensorHandle r = h; h = nullptr; return r; }
};

#define SHIM_CHECK(expr, what)                                                            \
  do {                                                                                    \
    if ((expr) != AOTI_TORCH_SUCCESS) return shim_error(std::string("aotgemm: ") + what); \
  } while (0)

// Record `msg` as the last error, print it, and return AOTI_TORCH_FAILURE.
AOTITorchError shim_error(const std::string& msg);

// An epilogue operand of one call (the bias, the residual, fp8's scales).
struct Operand {
  AtenTensorHandle h = nullptr;
  int64_t ndim = 0, *sizes = nullptr, *strides = nullptr;
  void* data = nullptr;
  bool checked = false;  // [N] or [M, N] data the kernel indexes: the rule checks its layout and alignment
};

// One call, checked: what the rule, the kernel and the fallback need, whichever op it came from.
struct Call {
  bool cuda = false;
  bool scaled = false;  // aotgemm_scaled_mm: x [M, K] and w = mat2 = W^T [K, N] (else w is W [N, K])
  int want = -1;        // the epilogue the op serves (scaled: the one the scales' form selects, -1: none)
  AtenTensorHandle x = nullptr, w = nullptr;
  int64_t xdim = 0, *xs = nullptr, *xst = nullptr;
  int64_t M = 0, N = 0, K = 0;
  int64_t w_stride0 = 0, w_stride1 = 0;  // W [N, K]'s strides
  int32_t dtype = 0, dev_type = 0, dev_index = 0;  // x's AOTI dtype code and device
  int dt = -1;  // aotgemm's dtype index, -1: no kernels for it
  void *px = nullptr, *pw = nullptr;
  Operand operand[AOTGEMM_OPERAND_KINDS];  // by kind (aotgemm_operand); only the epilogue's are set
  int scale_form = AOTGEMM_SCALES_INVALID;  // scaled: aotgemm.dispatch_rule.scale_form
  int single_row_want = -1;  // scaled, M = 1: the epilogue looked up where want has no entry (scale_epilogues)
};

// act(gate) * up of a plain GEMM output `plain` [..., N] (N = 2 I): gated epilogue `e`'s unfused form, act its
// aten op (aotgemm_epilogue_gate_op). Returns a new [..., I] tensor.
AOTITorchError gated_unfused(int e, AtenTensorHandle plain, int64_t ndim, const int64_t* lead_sizes, int64_t M,
                             int64_t N, AtenTensorHandle* ret);
// Whether torch's _scaled_mm C shim exists for the device.
bool has_scaled_mm_out(bool cuda);
// A miss of aotgemm_scaled_mm: torch._scaled_mm into `out` (of AOTI dtype `out_code`).
AOTITorchError scaled_mm_fallback(const Call& c, Handle& out, int32_t out_code, AtenTensorHandle* ret0);
// A miss of aotgemm_linear / the fused-epilogue ops: cuBLAS (CPU: ATen), then the epilogue. `x_row`: x's row
// stride when `x_row_valid` (dispatch_rule.rows).
AOTITorchError linear_fallback(const Call& c, const DeviceOps& ops, bool x_row_valid, int64_t x_row, Handle& out,
                               AtenTensorHandle* ret0);

}  // namespace aotgemm

#endif  // AOTGEMM_SHIM_H_
