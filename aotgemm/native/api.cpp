// The C API of libaotgemm_aoti (aotgemm_aoti.h), except the shims themselves (shim.cpp).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "internal.h"

using namespace aotgemm;

extern "C" {

AOTGEMM_EXPORT int aotgemm_aoti_abi_version(void) { return AOTGEMM_AOTI_ABI_VERSION; }

AOTGEMM_EXPORT unsigned aotgemm_aoti_default_flags(void) {
  const char* v = getenv("AOTGEMM_STRICT");
  if (!v) return 0;
  std::string s(v);
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return (s == "0" || s == "false" || s == "no" || s == "off") ? AOTGEMM_FLAG_NONSTRICT : 0;
}

AOTGEMM_EXPORT int aotgemm_aoti_check(const char* package_path, const char* bundle_path, int device_index,
                                      const aotgemm_device* device, unsigned flags, char* err, size_t err_len) {
  CheckResult r;
  Failure f{0, ""};
  if (!do_check(package_path, bundle_path, device_index, device, flags, &r, &f)) return report(f, err, err_len);
  copy_out(r.warning, err, err_len);
  return AOTGEMM_OK;
}

AOTGEMM_EXPORT int aotgemm_aoti_init(const char* package_path, const char* bundle_path, int device_index,
                                     const aotgemm_device* device, const char* cache_dir, unsigned flags, char* err,
                                     size_t err_len) {
  std::lock_guard<std::mutex> lk(g_init_mu);
  CheckResult r;
  Failure f{0, ""};
  if (!do_check(package_path, bundle_path, device_index, device, flags, &r, &f)) return report(f, err, err_len);
  const Meta& m = r.pkg.meta;
  if (State* cur = g_state.load()) {
    if (cur->index_sha256 == m.index_sha256) return AOTGEMM_OK;  // same bundle: nothing to do
    return report(fail(AOTGEMM_ERR_STATE,
                       fmt("this process already serves bundle '%s' (sha256 %s) from %s; one process serves one "
                           "bundle: the package %s was built for %s", cur->bundle_name.c_str(),
                           short_sha(cur->bundle_sha256).c_str(), cur->package.c_str(), package_path,
                           bundle_desc(m).c_str())),
                  err, err_len);
  }
  auto s = std::make_unique<State>();
  s->package = package_path;
  s->bundle_name = m.bundle_name;
  s->bundle_sha256 = m.bundle_sha256;
  s->index_sha256 = m.index_sha256;
  s->buckets = m.m_buckets;
  s->device_index = r.device.index;
  s->cpu_kernels = flags & AOTGEMM_FLAG_CPU_KERNELS;
  s->warning = r.warning;
  if (r.target >= 0) {
    const MetaTarget& t = m.targets[r.target];
    s->target_gpu = t.gpu;
    if (!extract_library(t, r.lib_stored, cache_root(cache_dir), &s->library_path, &s->extracted, &f) ||
        !load_library(t, s->library_path, s.get(), &f))
      return report(f, err, err_len);
  }
  if (!r.warning.empty()) fprintf(stderr, "aotgemm: warning: %s\n", r.warning.c_str());
  g_state.store(s.release(), std::memory_order_release);  // lives until exit: the shims may run until then
  copy_out(r.warning, err, err_len);
  return AOTGEMM_OK;
}

AOTGEMM_EXPORT int aotgemm_aoti_initialized(void) { return g_state.load() != nullptr; }

AOTGEMM_EXPORT int64_t aotgemm_aoti_counter(const char* name) {
  if (!name) return -1;
  if (strcmp(name, "calls") == 0) return g_counters.calls;
  if (strcmp(name, "misses") == 0) return g_counters.misses;
  for (int i = 0; i < AOTGEMM_REASON_COUNT; i++)
    if (strcmp(name, aotgemm_reason_counter[i]) == 0) return g_counters.by_reason[i];
  return -1;
}

AOTGEMM_EXPORT void aotgemm_aoti_reset_counters(void) { g_counters.reset(); }

AOTGEMM_EXPORT int aotgemm_aoti_decide(const aotgemm_rule_input* in) {
  if (!in) return AOTGEMM_MISS_NOT_LOADED;
  RuleInput r;
  r.loaded = in->loaded; r.fallback = in->fallback; r.dtype_supported = in->dtype_supported;
  r.device = in->device;
  r.m = in->m; r.n = in->n; r.k = in->k;
  r.entry = in->entry; r.alignment = in->alignment; r.max_m = in->max_m; r.x_row_stride = in->x_row_stride;
  r.min_m = in->min_m;
  r.x_row_valid = in->x_row_valid; r.x_row = in->x_row;
  r.w_stride0 = in->w_stride0; r.w_stride1 = in->w_stride1;
  r.operands_contiguous = in->operands_contiguous;
  r.n_pointers = std::max(0, std::min(in->n_pointers, 4));
  for (int i = 0; i < r.n_pointers; i++) r.pointers[i] = in->pointers[i];
  r.element_bytes = in->element_bytes;
  return decide(r);
}

AOTGEMM_EXPORT int aotgemm_aoti_scale_form(int64_t m, int64_t n, int64_t a_ndim, const int64_t* a_sizes,
                                           int64_t b_ndim, const int64_t* b_sizes) {
  if (a_ndim < 0 || b_ndim < 0 || (a_ndim && !a_sizes) || (b_ndim && !b_sizes)) return AOTGEMM_SCALES_INVALID;
  return scale_form(m, n, a_ndim, a_sizes, b_ndim, b_sizes);
}

AOTGEMM_EXPORT int aotgemm_aoti_rows(int64_t ndim, const int64_t* sizes, const int64_t* strides, int64_t* row) {
  if (ndim < 1 || !sizes || !strides || !row) return 0;
  return rows(ndim, sizes, strides, row) ? 1 : 0;
}

AOTGEMM_EXPORT const char* aotgemm_aoti_last_error(void) {
  static thread_local std::string copy;
  copy = last_error();
  return copy.c_str();
}

AOTGEMM_EXPORT const char* aotgemm_aoti_lookup(const char* dtype, int64_t n, int64_t k, int64_t m) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s || !dtype || s->buckets.empty()) return nullptr;
  const int dt = dtype_index(dtype);
  if (dt < 0) return nullptr;
  int epilogue = 0;
  int64_t min_m = 0;
  const int idx = lookup(*s, dt, epilogue_identity(), n, k, aotgemm_bucket_for(m, s->buckets.data(), s->buckets.size()),
                         &epilogue, &min_m);
  if (idx == -2) return nullptr;
  if (idx == -1 || m < min_m) return kCublas;
  const Kernel& kern = s->kernels[idx];
  return kern.max_m && m > kern.max_m ? kCublas : kern.symbol.c_str();
}

AOTGEMM_EXPORT int aotgemm_aoti_describe(char* out, size_t out_len) {
  State* s = g_state.load(std::memory_order_acquire);
  std::string j;
  if (!s) {
    j = "{\"initialized\": false}";
  } else {
    j = fmt("{\"initialized\": true, \"package\": \"%s\", \"bundle\": \"%s\", \"bundle_sha256\": \"%s\", "
            "\"target\": %s, \"kernels\": %zu, \"dispatch_entries\": %zu, \"library\": %s, \"extracted\": %s, "
            "\"device_index\": %d, \"mode\": \"%s\"}",
            s->package.c_str(), s->bundle_name.c_str(), s->bundle_sha256.c_str(),
            s->target_gpu.empty() ? "null" : ("\"" + s->target_gpu + "\"").c_str(), s->kernels.size(),
            s->dispatch.size(), s->library_path.empty() ? "null" : ("\"" + s->library_path + "\"").c_str(),
            s->extracted ? "true" : "false", s->device_index, s->module.has_value() ? "kernels" : "fallback");
  }
  copy_out(j, out, out_len);
  return (int)j.size();
}

AOTGEMM_EXPORT int aotgemm_aoti_read_meta(const char* package_path, char* out, size_t out_len, char* err,
                                          size_t err_len) {
  Package pkg;
  Failure f{0, ""};
  if (!package_path || !read_package(package_path, &pkg, &f)) {
    if (!package_path) f = fail(AOTGEMM_ERR_STATE, "no package path given");
    copy_out("", out, out_len);
    return report(f, err, err_len);
  }
  copy_out(pkg.meta.text, out, out_len);
  return AOTGEMM_OK;
}

}  // extern "C"
