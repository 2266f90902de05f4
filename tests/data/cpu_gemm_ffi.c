/* A CPU stand-in for a bundle's kernels, for tests of aotgemm.runtime.ffi: exported like CuTe DSL's
   kernels (__tvm_ffi_<symbol>, TVM-FFI safe-call ABI), taking the call convention's arguments
   (x [M, K], W^T [K, N], out [M, N], [bias [N],] stream) as DLTensor pointers, checking them, and
   computing out = x W^T (+ bias) in float32 on whatever strides it is given (bfloat16 or float32). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tvm/ffi/c_api.h>

TVM_FFI_DLL_EXPORT int64_t aotgemm_test_last_stream = -1;
TVM_FFI_DLL_EXPORT int64_t aotgemm_test_calls = 0;

static float load(const DLTensor* t, int64_t i, int64_t j) {
  const char* base = (const char*)t->data + t->byte_offset;
  int64_t off = i * t->strides[0] + (t->ndim == 2 ? j * t->strides[1] : 0);
  if (t->dtype.code == kDLBfloat) {
    uint32_t u = (uint32_t)((const uint16_t*)base)[off] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  return ((const float*)base)[off];
}

static void store(const DLTensor* t, int64_t i, int64_t j, float v) {
  char* base = (char*)t->data + t->byte_offset;
  int64_t off = i * t->strides[0] + j * t->strides[1];
  if (t->dtype.code == kDLBfloat) {
    uint32_t u;
    memcpy(&u, &v, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    ((uint16_t*)base)[off] = (uint16_t)(u >> 16);
  } else {
    ((float*)base)[off] = v;
  }
}

static int fail(const char* kind, const char* msg) {
  TVMFFIErrorSetRaisedFromCStr(kind, msg);
  return -1;
}

static int gemm(const TVMFFIAny* args, int32_t n, TVMFFIAny* result, int with_bias, int stream_kind) {
  char msg[256];
  int want = with_bias ? 5 : 4;
  if (n != want) {
    snprintf(msg, sizeof msg, "expected %d arguments, got %d", want, n);
    return fail("TypeError", msg);
  }
  for (int i = 0; i < want - 1; i++)
    if (args[i].type_index != kTVMFFIDLTensorPtr) return fail("TypeError", "tensor arguments must be DLTensor*");
  if (args[want - 1].type_index != stream_kind) return fail("TypeError", "stream has the wrong type");
  const DLTensor* x = (const DLTensor*)args[0].v_ptr;
  const DLTensor* wt = (const DLTensor*)args[1].v_ptr;
  const DLTensor* out = (const DLTensor*)args[2].v_ptr;
  const DLTensor* bias = with_bias ? (const DLTensor*)args[3].v_ptr : NULL;
  if (x->ndim != 2 || wt->ndim != 2 || out->ndim != 2) return fail("ValueError", "x, wt and out must be 2-D");
  int64_t m = x->shape[0], k = x->shape[1], nn = wt->shape[1];
  if (wt->shape[0] != k || out->shape[0] != m || out->shape[1] != nn) {
    snprintf(msg, sizeof msg, "shape mismatch: x [%lld, %lld], wt [%lld, %lld], out [%lld, %lld]", (long long)m,
             (long long)k, (long long)wt->shape[0], (long long)nn, (long long)out->shape[0], (long long)out->shape[1]);
    return fail("ValueError", msg);
  }
  if (x->device.device_type != kDLCPU || x->dtype.code != wt->dtype.code || x->dtype.lanes != 1)
    return fail("ValueError", "x must be a CPU tensor of wt's dtype");
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < nn; j++) {
      float acc = bias ? load(bias, j, 0) : 0.0f;
      for (int64_t l = 0; l < k; l++) acc += load(x, i, l) * load(wt, l, j);
      store(out, i, j, acc);
    }
  aotgemm_test_last_stream = args[want - 1].v_int64;
  aotgemm_test_calls++;
  result->type_index = kTVMFFINone;
  return 0;
}

TVM_FFI_DLL_EXPORT int __tvm_ffi_cpu_gemm(void* h, const TVMFFIAny* a, int32_t n, TVMFFIAny* r) {
  return gemm(a, n, r, 0, kTVMFFIInt);
}
TVM_FFI_DLL_EXPORT int __tvm_ffi_cpu_gemm_bias(void* h, const TVMFFIAny* a, int32_t n, TVMFFIAny* r) {
  return gemm(a, n, r, 1, kTVMFFIInt);
}
/* a library that types its stream as an opaque pointer (refuses an int with TypeError) */
TVM_FFI_DLL_EXPORT int __tvm_ffi_cpu_gemm_ptr_stream(void* h, const TVMFFIAny* a, int32_t n, TVMFFIAny* r) {
  return gemm(a, n, r, 0, kTVMFFIOpaquePtr);
}
