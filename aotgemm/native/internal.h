// Internal declarations shared by the pieces of libaotgemm_aoti (not installed, not a public API).
//
//   util.cpp      errors, formatting, SHA-256, zstd, file reading
//   meta.cpp      the package's meta file (grammar: aotgemm/aoti/meta.py)
//   package.cpp   reading a .pt2 and the checks both loaders share (aotgemm_aoti_check)
//   library.cpp   the extracted-library cache (the Python runtime's layout and lock) and loading
//   dispatch.cpp  the dispatch state, counters and rule (aotgemm.dispatch_rule, via aotgemm_rule.h)
//   shim.cpp      aoti_torch_{cuda,cpu}_aotgemm_linear{,_<gated epilogue>,_residual}, aoti_torch_{cuda,cpu}_aotgemm_scaled_mm
//   fallback.cpp  what serves their misses (cuBLAS / ATen, torch._scaled_mm); shim.h: what the two share
//   api.cpp       the rest of the C API (aotgemm_aoti.h)
#ifndef AOTGEMM_INTERNAL_H_
#define AOTGEMM_INTERNAL_H_

#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "aotgemm_aoti.h"
#include "aotgemm_rule.h"

#define AOTGEMM_EXPORT __attribute__((visibility("default")))

namespace aotgemm {

constexpr const char* kMetaRecord = "aotgemm/meta.aotgemm-meta";
constexpr const char* kBundleRecord = "aotgemm/bundle.agb";
constexpr const char* kMetaMagic = "aotgemm-aoti-meta";
constexpr const char* kCublas = "cublas";
constexpr size_t kHeaderSize = 56;
constexpr uint64_t kMaxIndex = 16ull << 20;

// ---------------------------------------------------------------- util.cpp ---
struct Failure {
  int code;
  std::string msg;
};
Failure fail(int code, const std::string& msg);
void set_last_error(const std::string& msg);
std::string last_error();
int report(const Failure& f, char* err, size_t err_len);    // sets the last error, copies into err; f.code
void copy_out(const std::string& s, char* out, size_t len);  // NUL-terminated, truncated
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string hex(const uint8_t* p, size_t n);
std::string sha256_hex(const void* data, size_t n);
std::string short_sha(const std::string& s);
std::vector<std::string> split_tabs(const std::string& line);
bool to_i64(const std::string& s, int64_t* v);
bool pread_all(const std::string& path, uint64_t off, size_t n, std::string* out, std::string* why);

struct Zstd {
  unsigned long long (*frame_size)(const void*, size_t) = nullptr;
  size_t (*decompress)(void*, size_t, const void*, size_t) = nullptr;
  unsigned (*is_error)(size_t) = nullptr;
  const char* (*error_name)(size_t) = nullptr;
  bool ok() const { return frame_size && decompress && is_error && error_name; }
};
const Zstd& zstd();  // libzstd through dlopen; !ok() when absent

// ---------------------------------------------------------------- meta.cpp ---
struct MetaKernel {
  std::string symbol, source, dtype, layout, epilogue;
  int64_t alignment = 1, max_m = 0, x_row_stride = 0;
};
struct MetaEntry {
  std::string dtype, layout, epilogue, kernel;
  int64_t n = 0, k = 0, m_bucket = 0;
  int64_t min_m = 0;  // DispatchEntry.min_m: the kernel serves M >= min_m of the bucket, cuBLAS below
};
struct MetaTarget {
  std::string gpu, arch;
  int sm_count = 0, cc_major = 0, cc_minor = 0;
  std::vector<std::string> device_names;
  std::map<std::string, std::string> env;
  std::string lib_name, lib_sha256, lib_content_sha256;
  uint64_t lib_offset = 0, lib_stored = 0, lib_size = 0;  // offset: from the start of the bundle file
  std::vector<MetaKernel> kernels;
  std::vector<MetaEntry> dispatch;
};
struct Meta {
  std::string bundle_name, bundle_sha256, index_sha256, device, text;
  uint64_t bundle_size = 0, data_offset = 0;
  std::vector<int64_t> m_buckets;
  std::vector<MetaTarget> targets;
};
bool parse_meta(const std::string& text, Meta* m, std::string* why);

// ------------------------------------------------------------- package.cpp ---
struct DeviceInfo {
  std::string name;
  int sm_count = 0, cc_major = 0, cc_minor = 0, driver_version = 0;
  int index = -1;
};
struct BundleSource {
  std::string path;   // the file holding the bundle bytes
  uint64_t base = 0;  // where the bundle starts in it
  uint64_t size = 0;
  bool embedded = false;
};
struct Package {
  Meta meta;
  bool has_embedded = false;
  uint64_t embedded_offset = 0, embedded_size = 0;
};
struct CheckResult {
  Package pkg;
  BundleSource src;
  int target = -1;      // index into meta.targets, -1: none (CPU, or non-strict mismatch)
  std::string warning;  // non-strict mismatch
  DeviceInfo device;
  std::string lib_stored;  // the chosen target's stored library bytes (verified)
};
bool read_package(const std::string& path, Package* pkg, Failure* f);
bool do_check(const char* package_path, const char* bundle_path, int device_index, const aotgemm_device* dev,
              unsigned flags, CheckResult* r, Failure* f);
std::string bundle_desc(const Meta& m);

// ------------------------------------------------------------ dispatch.cpp ---
int dtype_index(const std::string& name);     // into aotgemm_dtype_name, -1 if none
int epilogue_index(const std::string& name);  // into aotgemm_epilogue_name, -1 if none
int epilogue_identity();
int epilogue_bias();
bool epilogue_gated(int e);  // a gated epilogue (swiglu, geglu: aotgemm_epilogue_gate_op)
int epilogue_residual_add();
// aotgemm.dispatch_rule.scale_form: how aotgemm_scaled_mm's scales are given (an aotgemm_scale_form).
int scale_form(int64_t m, int64_t n, int64_t a_ndim, const int64_t* a_sizes, int64_t b_ndim, const int64_t* b_sizes);

struct Kernel {
  std::string symbol;
  int dtype = -1, epilogue = -1;
  int64_t alignment = 1, max_m = 0, x_row_stride = 0;
  tvm::ffi::Function fn;
};
struct Route {
  int kernel;     // kernel index, or -1 for cuBLAS
  int64_t min_m;  // DispatchEntry.min_m: the kernel serves M >= min_m of the bucket (0: all of it)
};
struct Key {
  int dtype, epilogue;
  int64_t n, k, bucket;
  bool operator<(const Key& o) const {
    return std::tie(dtype, epilogue, n, k, bucket) < std::tie(o.dtype, o.epilogue, o.n, o.k, o.bucket);
  }
};
struct State {
  std::string package, bundle_name, bundle_sha256, index_sha256, library_path, target_gpu, warning;
  std::vector<int64_t> buckets;
  std::vector<Kernel> kernels;
  std::map<Key, Route> dispatch;
  int device_index = -1;
  bool cpu_kernels = false;
  bool extracted = false;  // this process wrote the library into the cache
  tvm::ffi::Optional<tvm::ffi::Module> module;
};
extern std::mutex g_init_mu;
extern std::atomic<State*> g_state;

// The rule's inputs, as plain values (aotgemm.dispatch_rule.decide's arguments).
struct RuleInput {
  bool loaded = false, fallback = false, dtype_supported = false;
  int device = 0;  // aotgemm.dispatch_rule.Device: 0 served, 1 CPU, 2 other
  int64_t m = 0, n = 0, k = 0;
  int entry = 0;  // 0: none, 1: cuBLAS, 2: a kernel
  int64_t alignment = 1, max_m = 0;
  int64_t x_row_stride = 0;  // the one row stride of x the kernel takes; 0: any >= K
  int64_t min_m = 0;  // the entry's: cuBLAS serves M below it (0: none)
  bool x_row_valid = false;
  int64_t x_row = 0;
  int64_t w_stride0 = 0, w_stride1 = 0;
  bool operands_contiguous = true;
  uint64_t pointers[4] = {0, 0, 0, 0};
  int n_pointers = 0;
  int64_t element_bytes = 0;
};
int decide(const RuleInput& in);  // an aotgemm_reason
// aotgemm.dispatch_rule.rows: the row stride of x [..., K] as [M, K] without a copy; false if none.
bool rows(int64_t ndim, const int64_t* sizes, const int64_t* strides, int64_t* row);
// aotgemm.dispatch_rule.operand_contiguous: an epilogue operand as a kernel indexes it (a vector with unit stride,
// or [M, N] rows exactly N apart when `is_rows`).
bool operand_contiguous(bool is_rows, int64_t m, int64_t n, int64_t ndim, const int64_t* sizes,
                        const int64_t* strides);
// The entry serving (dtype, epilogue `want`, n, k, bucket): the `want` problem's when the state has one,
// else the identity problem's. Sets *epilogue to the one used and *min_m to the entry's; returns the kernel
// index, -1 (cuBLAS), or -2 (no entry).
int lookup(const State& s, int dtype, int want, int64_t n, int64_t k, int64_t bucket, int* epilogue,
           int64_t* min_m);

struct Counters {
  std::atomic<int64_t> calls{0}, misses{0};
  std::atomic<int64_t> by_reason[AOTGEMM_REASON_COUNT];
  Counters() { reset(); }
  void reset() {
    calls = 0;
    misses = 0;
    for (auto& c : by_reason) c = 0;
  }
};
extern Counters g_counters;
void count(int reason);  // one call's outcome

// ------------------------------------------------------------- library.cpp ---
std::string cache_root(const char* given);
// <root>/lib/<content sha256>/<blob name>: the Python runtime's path (aotgemm/runtime/library.py).
std::string library_path(const std::string& root, const MetaTarget& t);
bool extract_library(const MetaTarget& t, const std::string& stored, const std::string& root, std::string* path,
                     bool* extracted, Failure* f);
bool load_library(const MetaTarget& t, const std::string& path, State* s, Failure* f);

}  // namespace aotgemm

#endif  // AOTGEMM_INTERNAL_H_
