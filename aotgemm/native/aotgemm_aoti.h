/*
 * aotgemm AOTInductor runtime: the C API of libaotgemm_aoti.so.
 *
 * An AOTInductor package compiled by `aotgemm.aoti.compile` calls
 * `aoti_torch_{cuda,cpu}_aotgemm_linear` (declared at the bottom, with AOTI
 * types) for each GEMM the bundle covers, `..._aotgemm_linear_<gated epilogue>` (swiglu, geglu) /
 * `..._aotgemm_linear_residual` for each fused epilogue, and
 * `aoti_torch_{cuda,cpu}_aotgemm_scaled_mm` for each fp8 torch._scaled_mm. Those shims serve the call from the
 * bundle's kernel library, or fall back to cuBLAS (CPU: ATen) and count it.
 *
 * Before the first run, the process calls `aotgemm_aoti_init` with the
 * package path: it reads the aotgemm files inside the package, checks the
 * bundle (present, intact, built for this GPU), extracts and loads the kernel
 * library and builds the dispatch table. `aotgemm.aoti.load` does this from
 * Python; examples/cpp/main.cpp from C++. The checks are `aotgemm_aoti_check`
 * (init runs them first): both loaders refuse a package for the same reasons,
 * with the same messages. See docs/aoti.md.
 *
 * All functions are thread-safe. Error texts are copied into `err`
 * (NUL-terminated, truncated to err_len) and kept for aotgemm_aoti_last_error().
 */
#ifndef AOTGEMM_AOTI_H_
#define AOTGEMM_AOTI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AOTGEMM_AOTI_ABI_VERSION 5

/* Return codes. Python maps each to one exception class (aotgemm/aoti/native.py). */
enum {
  AOTGEMM_OK = 0,
  AOTGEMM_ERR_PACKAGE = 1,        /* unreadable, or not made by aotgemm.aoti.compile */
  AOTGEMM_ERR_BUNDLE_MISSING = 2, /* the bundle is neither inside the package nor given */
  AOTGEMM_ERR_BUNDLE_CORRUPT = 3, /* not the bundle the package was built with, or damaged */
  AOTGEMM_ERR_WRONG_GPU = 4,      /* the bundle has no kernels for this GPU model */
  AOTGEMM_ERR_NO_GPU = 5,         /* a CUDA package, but no usable CUDA device */
  AOTGEMM_ERR_DRIVER = 6,         /* CUDA driver older than the library needs */
  AOTGEMM_ERR_LIBRARY = 7,        /* the kernel library could not be extracted or loaded */
  AOTGEMM_ERR_STATE = 8           /* bad arguments, or already initialised with another bundle */
};

/* Flags for aotgemm_aoti_check / aotgemm_aoti_init. */
#define AOTGEMM_FLAG_NONSTRICT 1u  /* GPU/driver mismatch: warn, serve every GEMM by cuBLAS */
#define AOTGEMM_FLAG_CPU_KERNELS 2u /* testing only: the CPU shim calls the loaded library */

/* A device description, to check against a GPU other than the one present
 * (tests, or deciding offline whether a package fits a machine). */
typedef struct aotgemm_device {
  const char* name;       /* e.g. "NVIDIA H100 80GB HBM3" */
  int32_t sm_count;
  int32_t cc_major;
  int32_t cc_minor;
  int32_t driver_version; /* e.g. 13000; 0 = unknown (skip the driver check) */
} aotgemm_device;

int aotgemm_aoti_abi_version(void);

/* Flags from the environment, for C++ programs: AOTGEMM_STRICT=0 -> NONSTRICT. */
unsigned aotgemm_aoti_default_flags(void);

/* Check that `package_path` can run here: aotgemm files present, bundle
 * present (inside the package, or `bundle_path` when not NULL) and the one
 * the package was built with, its index and library blob intact, and (CUDA
 * packages) a target for the GPU `device_index` (or `device` when not NULL)
 * with a new enough driver. device_index < 0 with device == NULL skips the
 * GPU checks (CPU packages). Returns AOTGEMM_OK or an error code. */
int aotgemm_aoti_check(const char* package_path, const char* bundle_path, int device_index,
                       const aotgemm_device* device, unsigned flags, char* err, size_t err_len);

/* aotgemm_aoti_check, then extract the kernel library into
 * `cache_dir`/lib/<content sha256>/<blob name> (cache_dir NULL: $AOTGEMM_CACHE_DIR,
 * else $XDG_CACHE_HOME/aotgemm, else ~/.cache/aotgemm) -- the Python runtime's
 * cache, with its lock and ".ok" marker, so either finds what the other
 * extracted -- load it, and make the shims serve from it. Idempotent for the
 * same bundle; a second, different bundle is refused (one bundle per process). */
int aotgemm_aoti_init(const char* package_path, const char* bundle_path, int device_index,
                      const aotgemm_device* device, const char* cache_dir, unsigned flags, char* err,
                      size_t err_len);

/* 1 once init succeeded. */
int aotgemm_aoti_initialized(void);

/* Counters: "calls", "misses" (every call not served by a bundle kernel),
 * and one per outcome of the dispatch rule, named by aotgemm_reason_counter
 * of aotgemm_rule.h: "hits", "miss_no_entry", "miss_chose_cublas",
 * "miss_above_max_m", "miss_non_contiguous", "miss_unaligned", ... -- the
 * reasons of aotgemm.runtime.stats(). -1 for an unknown name. */
int64_t aotgemm_aoti_counter(const char* name);
void aotgemm_aoti_reset_counters(void);

/* The dispatch rule on plain values (aotgemm.dispatch_rule.decide), as the
 * shims apply it: for tests and tools. Returns an aotgemm_reason. */
typedef struct aotgemm_rule_input {
  int32_t loaded, fallback, dtype_supported;
  int32_t device;       /* 0: the device served, 1: a CPU tensor, 2: another device */
  int64_t m, n, k;
  int32_t entry;        /* 0: no entry, 1: cuBLAS, 2: a kernel */
  int64_t alignment, max_m;
  int32_t x_row_valid;  /* x is addressable as [M, K] rows (aotgemm_aoti_rows) */
  int64_t x_row;
  int64_t w_stride0, w_stride1;
  int32_t operands_contiguous;
  int32_t n_pointers;   /* <= 4 */
  uint64_t pointers[4];
  int64_t element_bytes;
  int64_t x_row_stride; /* the one row stride of x the kernel takes; 0: any >= K */
  int64_t min_m;        /* the entry's: cuBLAS serves M below it (a tuned split of the bucket); 0: none */
} aotgemm_rule_input;
int aotgemm_aoti_decide(const aotgemm_rule_input* in);

/* How the scales of an fp8 call (aoti_torch_*_aotgemm_scaled_mm) are given, for scale_a and scale_b of
 * the given sizes and an [M, N] output (aotgemm.dispatch_rule.scale_form): an aotgemm_scale_form of
 * aotgemm_rule.h (TENSOR, ROW, ROWWISE, each selecting a scale epilogue; INVALID: the shim refuses the call). */
int aotgemm_aoti_scale_form(int64_t m, int64_t n, int64_t a_ndim, const int64_t* a_sizes, int64_t b_ndim,
                            const int64_t* b_sizes);

/* The row stride of x [..., K] seen as [M, K] rows without a copy (aotgemm.dispatch_rule.rows):
 * 1 and *row set, or 0 when no such view exists. */
int aotgemm_aoti_rows(int64_t ndim, const int64_t* sizes, const int64_t* strides, int64_t* row);

/* The last error text of this library ("" if none). */
const char* aotgemm_aoti_last_error(void);

/* The dispatch decision for a well-formed GEMM of M rows (contiguous,
 * aligned, no bias), as the shim makes it: the kernel symbol, "cublas" (the
 * bundle chose cuBLAS, at this M or at all, or M is above the kernel's max_m), or NULL when there
 * is no entry / no target loaded. The string lives as long as the process. */
const char* aotgemm_aoti_lookup(const char* dtype, int64_t n, int64_t k, int64_t m);

/* A one-line JSON description of the state (bundle, target, kernels, device). */
int aotgemm_aoti_describe(char* out, size_t out_len);

/* The meta text of a package ("" + error code when it has none): for tools. */
int aotgemm_aoti_read_meta(const char* package_path, char* out, size_t out_len, char* err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* AOTGEMM_AOTI_H_ */
