// aoti_torch_{cuda,cpu}_aotgemm_linear{,_<gated epilogue>,_residual}: the AOTInductor C shims of aotgemm::aotgemm_linear
// and of the fused-epilogue ops (aotgemm/runtime/epilogue_ops.py), and aoti_torch_{cuda,cpu}_aotgemm_scaled_mm:
// those of aotgemm::aotgemm_scaled_mm (fp8, aotgemm/runtime/scaled_mm.py); one code path for all.
//
// Per call: check the call (as aotgemm.runtime.ops.check_inputs / scaled_mm.check_inputs: check_linear,
// check_scaled_mm), then in `serve` apply the dispatch rule (dispatch.cpp = aotgemm.dispatch_rule.decide),
// count the outcome, then run the bundle kernel with the call convention's arguments (aotgemm_epilogue_call
// of the generated aotgemm_rule.h) or the op's fallback (fallback.cpp: cuBLAS / ATen, torch._scaled_mm).
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/extra/c_env_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "shim.h"

namespace aotgemm {
namespace {

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

// DLPack's type of operand `kind` (aotgemm_operand_dtype of the generated header: "input", "output" or a dtype
// name) in a problem of dtype `dt` and output dtype `out_dt`.
DLDataType operand_dl_dtype(int kind, int dt, int out_dt) {
  const char* name = aotgemm_operand_dtype[kind];
  if (strcmp(name, "input") == 0) return dl_dtype(dt);
  if (strcmp(name, "output") == 0) return dl_dtype(out_dt);
  if (strcmp(name, "float32") == 0) return DLDataType{kDLFloat, 32, 1};
  const int i = dtype_index(name);  // a dtype of the table (the header generator names no other)
  return i >= 0 ? dl_dtype(i) : DLDataType{kDLOpaqueHandle, 0, 0};
}

// aotgemm's dtype index of an AOTI dtype code, -1 for one linear kernels do not exist for (fp8 GEMMs are
// aotgemm_scaled_mm's: check_scaled_mm).
int dtype_of(int32_t code) {
  static const int32_t bf16 = aoti_torch_dtype_bfloat16(), f16 = aoti_torch_dtype_float16();
  const char* name = code == bf16 ? "bfloat16" : code == f16 ? "float16" : "";
  return dtype_index(name);
}


std::atomic<int> g_stream_as_ptr{0};

// Run kernel `kern` with the arguments of its epilogue's call convention (aotgemm_epilogue_call): `arg` holds
// each operand's DLTensor by kind (aotgemm_operand: x, wt, out and the epilogue's operands).
AOTITorchError run_kernel(const Kernel& kern, int epilogue, DLTensor* const arg[AOTGEMM_OPERAND_KINDS], void* stream,
                          int64_t M, int64_t N, int64_t K) {
  try {
    for (int attempt = 0; attempt < 2; attempt++) {
      const bool as_ptr = g_stream_as_ptr.load(std::memory_order_relaxed) != 0;
      tvm::ffi::AnyView args[AOTGEMM_MAX_OPERANDS];
      int n = 0;
      for (const int* op = aotgemm_epilogue_call[epilogue]; *op >= 0 && n < AOTGEMM_MAX_OPERANDS; ++op) {
        if (*op == AOTGEMM_OPERAND_STREAM) {
          if (as_ptr) args[n++] = stream; else args[n++] = reinterpret_cast<int64_t>(stream);
        } else if (*op < AOTGEMM_OPERAND_KINDS && arg[*op]) {
          args[n++] = arg[*op];
        } else {
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

State* initialised_state() {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s)
    shim_error("aotgemm: an aoti_torch_*_aotgemm_* shim was called before the aotgemm AOTI runtime was "
               "initialised: load the package with aotgemm.aoti.load(path) (Python) or call "
               "aotgemm_aoti_init(path, ...) before running it (C++; see examples/cpp)");
  return s;
}

AOTITorchError read_operand(AtenTensorHandle t, bool checked, Operand* o) {
  o->h = t;
  o->checked = checked;
  SHIM_CHECK(aoti_torch_get_dim(t, &o->ndim), "get_dim");
  SHIM_CHECK(aoti_torch_get_sizes(t, &o->sizes), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(t, &o->strides), "get_strides");
  SHIM_CHECK(aoti_torch_get_data_ptr(t, &o->data), "get_data_ptr");
  return AOTI_TORCH_SUCCESS;
}

// aotgemm_linear and the fused-epilogue ops, as aotgemm.runtime.ops.check_inputs / epilogue_ops._check check
// them (malformed calls are errors): epilogue `want` (identity, bias, a gated one or residual_add) with its one
// epilogue operand `extra` (the bias or the residual; null for identity and the gated ones).
AOTITorchError check_linear(bool cuda, int want, AtenTensorHandle x, AtenTensorHandle w, AtenTensorHandle extra,
                            Call* c) {
  const bool is_bias = want == epilogue_bias(), is_gated = epilogue_gated(want),
             is_residual = want == epilogue_residual_add();
  c->cuda = cuda; c->want = want; c->x = x; c->w = w;
  int64_t wdim = 0;
  SHIM_CHECK(aoti_torch_get_dim(x, &c->xdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(w, &wdim), "get_dim");
  const int64_t xdim = c->xdim;
  if (xdim < 1 || wdim != 2)
    return shim_error(fmt("aotgemm: linear needs x of rank >= 1 and a 2-D weight, got %lld and %lld",
                          (long long)xdim, (long long)wdim));
  int64_t *ws, *wst;
  SHIM_CHECK(aoti_torch_get_sizes(x, &c->xs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(x, &c->xst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(w, &ws), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(w, &wst), "get_strides");
  const int64_t* xs = c->xs;
  const int64_t N = ws[0], K = ws[1];
  if (xs[xdim - 1] != K)
    return shim_error(fmt("aotgemm: linear: x has %lld features, the weight %lld", (long long)xs[xdim - 1],
                          (long long)K));
  if (is_gated && N % 2)
    return shim_error(fmt("aotgemm: linear_%s: the weight must be [gate; up] (an even N), got N=%lld",
                          aotgemm_epilogue_name[want], (long long)N));
  int64_t M = 1;
  for (int64_t i = 0; i + 1 < xdim; i++) M *= xs[i];
  c->M = M; c->N = N; c->K = K;
  c->w_stride0 = wst[0]; c->w_stride1 = wst[1];
  int32_t wdtype;
  SHIM_CHECK(aoti_torch_get_dtype(x, &c->dtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(w, &wdtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &c->dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &c->dev_index), "get_device_index");
  if (wdtype != c->dtype) return shim_error("aotgemm: linear: x and the weight have different dtypes");
  c->dt = dtype_of(c->dtype);
  SHIM_CHECK(aoti_torch_get_data_ptr(x, &c->px), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(w, &c->pw), "get_data_ptr");
  if (extra) {
    Operand& o = c->operand[is_bias ? AOTGEMM_OPERAND_BIAS : AOTGEMM_OPERAND_RESIDUAL];
    if (AOTITorchError rc = read_operand(extra, true, &o)) return rc;
    int32_t edtype;
    SHIM_CHECK(aoti_torch_get_dtype(extra, &edtype), "get_dtype");
    if (is_bias && (o.ndim != 1 || o.sizes[0] != N || edtype != c->dtype))
      return shim_error(fmt("aotgemm: linear: the bias must be [N=%lld] of x's dtype", (long long)N));
    if (is_residual) {
      bool ok = o.ndim == xdim && o.sizes[xdim - 1] == N && edtype == c->dtype;
      for (int64_t i = 0; ok && i + 1 < xdim; i++) ok = o.sizes[i] == xs[i];
      if (!ok)
        return shim_error(fmt("aotgemm: linear_residual: the residual must have x's leading dims + [N=%lld] and "
                              "x's dtype", (long long)N));
    }
  }
  return AOTI_TORCH_SUCCESS;
}

// aotgemm_scaled_mm, as aotgemm.runtime.scaled_mm.check_inputs checks it: e4m3 x [M, K] and mat2 [K, N], float32
// scales of a form dispatch_rule.scale_form knows; the form selects the scale epilogue.
AOTITorchError check_scaled_mm(bool cuda, AtenTensorHandle x, AtenTensorHandle mat2, AtenTensorHandle sa,
                               AtenTensorHandle sb, Call* c) {
  c->cuda = cuda; c->scaled = true; c->x = x; c->w = mat2;
  int64_t wdim = 0;
  SHIM_CHECK(aoti_torch_get_dim(x, &c->xdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(mat2, &wdim), "get_dim");
  if (c->xdim != 2 || wdim != 2)
    return shim_error(fmt("aotgemm: scaled_mm needs 2-D x and mat2, got %lld-D and %lld-D", (long long)c->xdim,
                          (long long)wdim));
  int64_t *ms, *mst;
  SHIM_CHECK(aoti_torch_get_sizes(x, &c->xs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(x, &c->xst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(mat2, &ms), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(mat2, &mst), "get_strides");
  c->M = c->xs[0]; c->K = c->xs[1]; c->N = ms[1];
  if (ms[0] != c->K)
    return shim_error(fmt("aotgemm: scaled_mm: x has K=%lld, mat2 %lld rows", (long long)c->K, (long long)ms[0]));
  c->w_stride0 = mst[1]; c->w_stride1 = mst[0];  // W = mat2^T
  Operand& a = c->operand[AOTGEMM_OPERAND_SCALE_A];
  Operand& b = c->operand[AOTGEMM_OPERAND_SCALE_B];
  if (AOTITorchError rc = read_operand(sa, false, &a)) return rc;
  if (AOTITorchError rc = read_operand(sb, false, &b)) return rc;
  int32_t wdt, adt, bdt;
  SHIM_CHECK(aoti_torch_get_dtype(x, &c->dtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(mat2, &wdt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(sa, &adt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(sb, &bdt), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &c->dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &c->dev_index), "get_device_index");
  // the operands' dtypes, from the generated header (aotgemm.problem, aotgemm.epilogues)
  c->dt = dtype_index("float8_e4m3fn");
  const int32_t f8 = aoti_torch_dtype_float8_e4m3fn();
  const int32_t f32 = aoti_dtype_code(aotgemm_operand_dtype[AOTGEMM_OPERAND_SCALE_A]);
  if (c->dt < 0 || f32 != aoti_dtype_code(aotgemm_operand_dtype[AOTGEMM_OPERAND_SCALE_B]))
    return shim_error("aotgemm: this libaotgemm_aoti's header has no fp8 scale operands; rebuild it");
  if (c->dtype != f8 || wdt != f8 || adt != f32 || bdt != f32)
    return shim_error("aotgemm: scaled_mm needs float8_e4m3fn x and mat2 and float32 scales");
  c->scale_form = scale_form(c->M, c->N, a.ndim, a.sizes, b.ndim, b.sizes);
  if (c->scale_form == AOTGEMM_SCALES_INVALID)
    return shim_error(fmt("aotgemm: scaled_mm: scales of %lld-D and %lld-D do not fit M=%lld N=%lld: give one "
                          "scale each, scale_a of 1 element with scale_b [N] or [1, N], or scale_a [M, 1] with "
                          "scale_b [1, N]", (long long)a.ndim, (long long)b.ndim, (long long)c->M, (long long)c->N));
  const char* ep_name = aotgemm_scale_form_epilogue[c->scale_form];
  c->want = ep_name ? epilogue_index(ep_name) : -1;
  // at M = 1, the epilogue whose entry serves the call where the bundle has none of want's
  // (dispatch_rule.scale_epilogues; a row-wise bundle serving a batch of one)
  const char* single_row = aotgemm_scale_form_single_row_epilogue[c->scale_form];
  c->single_row_want = c->M == 1 && single_row ? epilogue_index(single_row) : -1;
  SHIM_CHECK(aoti_torch_get_data_ptr(x, &c->px), "get_data_ptr");
  SHIM_CHECK(aoti_torch_get_data_ptr(mat2, &c->pw), "get_data_ptr");
  return AOTI_TORCH_SUCCESS;
}

// The one path of every op, after its check: the rule (aotgemm.dispatch_rule.decide), the count, then the
// bundle kernel with the call convention's arguments, or the op's fallback.
AOTITorchError serve(State* s, const Call& c, AtenTensorHandle* ret0) {
  const DeviceOps& ops = c.cuda ? cuda_ops() : cpu_ops();
  if (!ops.mm || !ops.addmm || !ops.add || (c.cuda && !ops.stream))
    return shim_error("aotgemm: the CUDA C shims of libtorch_cuda (aoti_torch_cuda_mm_out, ...) were not found");
  if (c.scaled && !has_scaled_mm_out(c.cuda))
    return shim_error("aotgemm: torch's _scaled_mm C shim (aoti_torch_*__scaled_mm_out) was not found");
  const int64_t M = c.M, N = c.N, K = c.K;
  const int dt = c.dt;
  RuleInput in;
  in.loaded = true;
  in.fallback = !s->warning.empty();  // a non-strict GPU/driver mismatch: no library loaded
  in.dtype_supported = dt >= 0;
  in.device = c.cuda ? (c.dev_index == s->device_index ? 0 : 2) : (s->cpu_kernels ? 0 : 1);
  in.m = M; in.n = N; in.k = K;
  int used = epilogue_identity(), kidx = -2, want = c.want;
  int64_t min_m = 0;
  if (dt >= 0 && want >= 0 && !s->buckets.empty()) {
    const int64_t bucket = aotgemm_bucket_for(M, s->buckets.data(), s->buckets.size());
    kidx = lookup(*s, dt, want, N, K, bucket, &used, &min_m);
    if (c.scaled && used != want && c.single_row_want >= 0) {
      want = c.single_row_want;
      kidx = lookup(*s, dt, want, N, K, bucket, &used, &min_m);
    }
  }
  if (c.scaled && used != want) kidx = -2;  // a scale epilogue has no unfused form after an identity kernel
  const bool fused = used == want && want != epilogue_identity();
  const Kernel* kern = kidx >= 0 ? &s->kernels[kidx] : nullptr;
  in.entry = kidx == -2 ? 0 : kidx == -1 ? 1 : 2;
  if (kern) {
    in.alignment = kern->alignment; in.max_m = kern->max_m; in.x_row_stride = kern->x_row_stride;
    in.min_m = min_m;
  }
  int64_t x_row = 0;
  in.x_row_valid = rows(c.xdim, c.xs, c.xst, &x_row);
  in.x_row = x_row;
  in.w_stride0 = c.w_stride0; in.w_stride1 = c.w_stride1;
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)c.px;
  in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)c.pw;
  in.operands_contiguous = true;
  if (fused)
    for (int kind = 0; kind < AOTGEMM_OPERAND_KINDS; kind++) {
      const Operand& o = c.operand[kind];
      // the operands the epilogue indexes (of M or N values: a fused-epilogue op's residual and bias, a scale
      // epilogue's scales but a single value): their layout and alignment are the rule's to check
      if (!o.h || !(c.scaled ? aotgemm_epilogue_indexes[want][kind] : o.checked)) continue;
      in.operands_contiguous = in.operands_contiguous &&
                               operand_contiguous(aotgemm_operand_is_rows[kind], M, N, o.ndim, o.sizes, o.strides);
      in.pointers[in.n_pointers++] = (uint64_t)(uintptr_t)o.data;
    }
  in.element_bytes = dt >= 0 ? aotgemm_dtype_bytes[dt] : 0;
  const int reason = decide(in);
  count(reason);

  // out: x's leading dims + [N] (a fused gated kernel's: + [N/2]), contiguous, of the problem's output dtype
  // (aotgemm_dtype_output: bf16 for fp8)
  const bool is_gated = epilogue_gated(c.want);
  const int64_t n_out = reason == AOTGEMM_HIT && fused && is_gated ? N / 2 : N;
  const int out_dt = dt >= 0 ? aotgemm_dtype_output[dt] : -1;
  const int32_t out_code = out_dt >= 0 ? aoti_dtype_code(aotgemm_dtype_name[out_dt]) : c.dtype;
  // (on the stack up to rank 8: two heap vectors per call showed in the host time of a miss)
  int64_t osz_small[8], ost_small[8];
  std::vector<int64_t> osz_big, ost_big;
  int64_t *osz = osz_small, *ost = ost_small;
  if (c.xdim > 8) {
    osz_big.resize(c.xdim); ost_big.resize(c.xdim);
    osz = osz_big.data(); ost = ost_big.data();
  }
  std::copy(c.xs, c.xs + c.xdim, osz);
  osz[c.xdim - 1] = n_out;
  int64_t acc = 1;
  for (int64_t i = c.xdim - 1; i >= 0; i--) { ost[i] = acc; acc *= std::max<int64_t>(osz[i], 1); }
  Handle out;
  SHIM_CHECK(aoti_torch_empty_strided(c.xdim, osz, ost, out_code, c.dev_type, c.dev_index, &out.h),
             "empty_strided");

  if (reason == AOTGEMM_HIT) {
    void *po = nullptr, *stream = nullptr;
    SHIM_CHECK(aoti_torch_get_data_ptr(out.h, &po), "get_data_ptr");
    if (c.cuda) SHIM_CHECK(ops.stream(c.dev_index, &stream), "get_current_cuda_stream");
    DLDevice dev{c.cuda ? kDLCUDA : kDLCPU, c.dev_index < 0 ? 0 : c.dev_index};
    int64_t a_shape[2] = {M, K}, a_strides[2] = {x_row, 1};
    int64_t b_shape[2] = {K, N}, b_strides[2] = {1, c.w_stride0};
    int64_t o_shape[2] = {M, n_out}, o_strides[2] = {n_out, 1};
    DLTensor A{c.px, dev, 2, dl_dtype(dt), a_shape, a_strides, 0};
    DLTensor B{c.pw, dev, 2, dl_dtype(dt), b_shape, b_strides, 0};
    DLTensor O{po, dev, 2, dl_dtype(out_dt), o_shape, o_strides, 0};
    // The epilogue's operands as the kernel indexes them: [M, N] rows N apart, or [numel] with unit stride
    // (both checked by the rule, or a single value), of their dtype in the generated header.
    DLTensor E[AOTGEMM_OPERAND_KINDS];
    int64_t e_shape[AOTGEMM_OPERAND_KINDS][2], e_strides[AOTGEMM_OPERAND_KINDS][2];
    DLTensor* arg[AOTGEMM_OPERAND_KINDS] = {};
    arg[AOTGEMM_OPERAND_X] = &A; arg[AOTGEMM_OPERAND_WT] = &B; arg[AOTGEMM_OPERAND_OUT] = &O;
    if (fused)
      for (int kind = 0; kind < AOTGEMM_OPERAND_KINDS; kind++) {
        const Operand& o = c.operand[kind];
        if (!o.h) continue;
        int ndim = 1;
        if (aotgemm_operand_is_rows[kind]) {
          ndim = 2;
          e_shape[kind][0] = M; e_shape[kind][1] = N; e_strides[kind][0] = N; e_strides[kind][1] = 1;
        } else {
          int64_t numel = 1;
          for (int64_t i = 0; i < o.ndim; i++) numel *= o.sizes[i];
          e_shape[kind][0] = numel; e_strides[kind][0] = 1;
        }
        E[kind] = DLTensor{o.data, dev, ndim, operand_dl_dtype(kind, dt, out_dt), e_shape[kind], e_strides[kind], 0};
        arg[kind] = &E[kind];
      }
    // The stream goes both ways a TVM-FFI kernel may read it: as the argument (an integer
    // cudaStream_t) and as the TVM-FFI environment stream.
    if (c.cuda) TVMFFIEnvSetStream(kDLCUDA, dev.device_id, stream, nullptr);
    if (AOTITorchError rc = run_kernel(*kern, used, arg, stream, M, N, K)) return rc;
    if (!fused && c.want != epilogue_identity()) {  // the identity problem's kernel, then the epilogue unfused
      if (is_gated) return gated_unfused(c.want, out.h, c.xdim, c.xs, M, N, ret0);
      const Operand& e = c.operand[c.want == epilogue_bias() ? AOTGEMM_OPERAND_BIAS : AOTGEMM_OPERAND_RESIDUAL];
      Handle sum;
      SHIM_CHECK(ops.add(out.h, e.h, 1.0, &sum.h), "add (bias / residual epilogue)");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    *ret0 = out.release();
    return AOTI_TORCH_SUCCESS;
  }
  if (c.scaled) return scaled_mm_fallback(c, out, out_code, ret0);
  return linear_fallback(c, ops, in.x_row_valid, x_row, out, ret0);
}

// aotgemm_linear (epilogue identity or bias) and the fused-epilogue ops (the gated ones, residual_add).
AOTITorchError linear(bool cuda, int want, AtenTensorHandle x, AtenTensorHandle w, AtenTensorHandle extra,
                      AtenTensorHandle* ret0) {
  State* s = initialised_state();
  if (!s) return AOTI_TORCH_FAILURE;
  Call c;
  if (AOTITorchError rc = check_linear(cuda, want, x, w, extra, &c)) return rc;
  return serve(s, c, ret0);
}

// aotgemm::aotgemm_scaled_mm: torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=bf16) on e4m3 operands, from a
// bundle kernel of the scale epilogue the scales select (scale_form), else _scaled_mm.
AOTITorchError scaled_mm(bool cuda, AtenTensorHandle x, AtenTensorHandle mat2, AtenTensorHandle sa,
                         AtenTensorHandle sb, AtenTensorHandle* ret0) {
  State* s = initialised_state();
  if (!s) return AOTI_TORCH_FAILURE;
  Call c;
  if (AOTITorchError rc = check_scaled_mm(cuda, x, mat2, sa, sb, &c)) return rc;
  return serve(s, c, ret0);
}

}  // namespace
}  // namespace aotgemm

// ---- the shims the generated AOTI wrapper calls
// (torch._inductor.config.aot_inductor.custom_ops_to_c_shims; names: aoti_torch_<device>_<op name>)
extern "C" {

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear(AtenTensorHandle x, AtenTensorHandle weight,
                                                             AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  AtenTensorHandle b = bias ? *bias : nullptr;
  return aotgemm::linear(true, b ? aotgemm::epilogue_bias() : aotgemm::epilogue_identity(), x, weight, b, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear(AtenTensorHandle x, AtenTensorHandle weight,
                                                            AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  AtenTensorHandle b = bias ? *bias : nullptr;
  return aotgemm::linear(false, b ? aotgemm::epilogue_bias() : aotgemm::epilogue_identity(), x, weight, b, ret0);
}

// aotgemm_linear_<name> for each gated epilogue (the generated header's list): (x, weight) -> act(gate) * up.
#define AOTGEMM_GATED_SHIMS(name)                                                                              \
  AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear_##name(AtenTensorHandle x, AtenTensorHandle weight, \
                                                                     AtenTensorHandle* ret0) {                 \
    static const int e = aotgemm::epilogue_index(#name);                                                      \
    return aotgemm::linear(true, e, x, weight, nullptr, ret0);                                                \
  }                                                                                                            \
  AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear_##name(AtenTensorHandle x, AtenTensorHandle weight,  \
                                                                    AtenTensorHandle* ret0) {                  \
    static const int e = aotgemm::epilogue_index(#name);                                                      \
    return aotgemm::linear(false, e, x, weight, nullptr, ret0);                                               \
  }
AOTGEMM_GATED_EPILOGUES(AOTGEMM_GATED_SHIMS)
#undef AOTGEMM_GATED_SHIMS

AOTGEMM_EXPORT AOTITorchError aoti_torch_cuda_aotgemm_linear_residual(AtenTensorHandle x, AtenTensorHandle weight,
                                                                      AtenTensorHandle residual, AtenTensorHandle* ret0) {
  return aotgemm::linear(true, aotgemm::epilogue_residual_add(), x, weight, residual, ret0);
}

AOTGEMM_EXPORT AOTITorchError aoti_torch_cpu_aotgemm_linear_residual(AtenTensorHandle x, AtenTensorHandle weight,
                                                                     AtenTensorHandle residual, AtenTensorHandle* ret0) {
  return aotgemm::linear(false, aotgemm::epilogue_residual_add(), x, weight, residual, ret0);
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
