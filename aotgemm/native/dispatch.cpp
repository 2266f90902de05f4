// The dispatch state, the counters and the rule.
//
// `decide` is aotgemm.dispatch_rule.decide, check for check and in the same order; its constants
// (reasons, dtypes, alignment, buckets) come from the generated aotgemm_rule.h.
// tests/test_dispatch_conformance.py runs the same cases through both and requires the same
// reason and the same counter.
#include <algorithm>
#include <cstring>

#include "internal.h"

namespace aotgemm {

std::mutex g_init_mu;
std::atomic<State*> g_state{nullptr};
Counters g_counters;

int dtype_index(const std::string& name) {
  for (int i = 0; i < AOTGEMM_DTYPE_COUNT; i++)
    if (name == aotgemm_dtype_name[i]) return i;
  return -1;
}

int epilogue_index(const std::string& name) {
  for (int i = 0; i < AOTGEMM_EPILOGUE_COUNT; i++)
    if (name == aotgemm_epilogue_name[i]) return i;
  return -1;
}

int epilogue_identity() {
  static const int i = epilogue_index("identity");
  return i;
}

int epilogue_bias() {
  static const int i = epilogue_index("bias");
  return i;
}

bool epilogue_gated(int e) { return e >= 0 && aotgemm_epilogue_gate_op[e] != nullptr; }

int epilogue_residual_add() {
  static const int i = epilogue_index("residual_add");
  return i;
}

int scale_form(int64_t m, int64_t n, int64_t a_ndim, const int64_t* a, int64_t b_ndim, const int64_t* b) {
  int64_t a_numel = 1, b_numel = 1;
  for (int64_t i = 0; i < a_ndim; i++) a_numel *= a[i];
  for (int64_t i = 0; i < b_ndim; i++) b_numel *= b[i];
  if (a_numel == 1) {
    if (b_numel == 1) return AOTGEMM_SCALES_TENSOR;
    if ((b_ndim == 1 && b[0] == n) || (b_ndim == 2 && b[0] == 1 && b[1] == n)) return AOTGEMM_SCALES_ROW;
    return AOTGEMM_SCALES_INVALID;
  }
  if (a_ndim == 2 && a[0] == m && a[1] == 1 && b_ndim == 2 && b[0] == 1 && b[1] == n) return AOTGEMM_SCALES_ROWWISE;
  return AOTGEMM_SCALES_INVALID;
}

void count(int reason) {
  g_counters.calls++;
  g_counters.by_reason[reason]++;
  if (reason != AOTGEMM_HIT) g_counters.misses++;
}

bool rows(int64_t ndim, const int64_t* sizes, const int64_t* strides, int64_t* row) {
  const int64_t k = sizes[ndim - 1];
  if (k > 1 && strides[ndim - 1] != 1) return false;
  int64_t prev_stride = 0;
  bool have = false;
  for (int64_t i = 0; i + 1 < ndim; i++) {
    if (sizes[i] == 1) continue;
    if (have && prev_stride != strides[i] * sizes[i]) return false;
    prev_stride = strides[i];
    have = true;
  }
  *row = have ? prev_stride : k;
  return true;
}

int decide(const RuleInput& in) {
  if (!in.loaded) return AOTGEMM_MISS_NOT_LOADED;
  if (in.fallback) return AOTGEMM_MISS_ENV_MISMATCH;
  if (!in.dtype_supported) return AOTGEMM_MISS_UNSUPPORTED_DTYPE;
  if (in.device == 1) return AOTGEMM_MISS_CPU_TENSOR;
  if (in.device != 0) return AOTGEMM_MISS_OTHER_DEVICE;
  if (in.m == 0 || in.n == 0 || in.k == 0) return AOTGEMM_MISS_EMPTY;
  if (in.entry == 0) return AOTGEMM_MISS_NO_ENTRY;
  if (in.entry == 1 || in.m < in.min_m) return AOTGEMM_MISS_CHOSE_CUBLAS;
  if (in.max_m && in.m > in.max_m) return AOTGEMM_MISS_ABOVE_MAX_M;
  if (!in.x_row_valid || (in.m > 1 && in.x_row < in.k) || in.w_stride0 != in.k || in.w_stride1 != 1 ||
      !in.operands_contiguous || (in.m > 1 && in.x_row_stride && in.x_row != in.x_row_stride))
    return AOTGEMM_MISS_NON_CONTIGUOUS;
  const int64_t a = in.alignment;
  const uint64_t align_bytes = (uint64_t)std::max<int64_t>(AOTGEMM_ROW_ALIGN_BYTES, a * in.element_bytes);
  if (a <= 0 || in.k % a || in.n % a || in.x_row % a) return AOTGEMM_MISS_UNALIGNED;
  for (int i = 0; i < in.n_pointers; i++)
    if (in.pointers[i] % align_bytes) return AOTGEMM_MISS_UNALIGNED;
  return AOTGEMM_HIT;
}

bool operand_contiguous(bool is_rows, int64_t m, int64_t n, int64_t ndim, const int64_t* sizes,
                        const int64_t* strides) {
  if (!is_rows) {  // a vector ([N], [1, N] or [M, 1]): at most one dimension of more than one element, unit stride
    int spanned = 0;
    for (int64_t i = 0; i < ndim; i++)
      if (sizes[i] > 1 && (++spanned > 1 || strides[i] != 1)) return false;
    return true;
  }
  int64_t row = 0;
  return rows(ndim, sizes, strides, &row) && (m <= 1 || row == n);
}

int lookup(const State& s, int dtype, int want, int64_t n, int64_t k, int64_t bucket, int* epilogue,
           int64_t* min_m) {
  *min_m = 0;
  if (want != epilogue_identity()) {
    auto it = s.dispatch.find(Key{dtype, want, n, k, bucket});
    if (it != s.dispatch.end()) {
      *epilogue = want;
      *min_m = it->second.min_m;
      return it->second.kernel;
    }
  }
  *epilogue = epilogue_identity();
  auto it = s.dispatch.find(Key{dtype, epilogue_identity(), n, k, bucket});
  if (it == s.dispatch.end()) return -2;
  *min_m = it->second.min_m;
  return it->second.kernel;
}

}  // namespace aotgemm
