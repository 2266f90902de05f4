/*
 * The two TVM-FFI error helpers that CuTe DSL-generated wrappers call, as
 * declared in the DSL's public header CuteDSLRuntime.h. They are the only
 * symbols the wrappers need from libcute_dsl_runtime.so (42 MB) beyond what
 * the DSL's static runtime archive provides, so a kernel library linked in
 * "static-runtime" mode carries these and needs no DSL files at run time.
 */
#include <stdint.h>
#include <stdio.h>

typedef void (*SetRaisedFromCStrPartsFn)(const char *kind, const char **parts, int32_t num_parts);

__attribute__((visibility("default"))) void CuteDSLRT_TVMFFISetRaisedCudaError(SetRaisedFromCStrPartsFn set_error,
                                                                               int32_t code) {
  if (!set_error) return;
  char buf[32];
  snprintf(buf, sizeof buf, "%d", code);
  const char *parts[2] = {"CUDA Error Code: ", buf};
  set_error("CUDADialectError", parts, 2);
}

__attribute__((visibility("default"))) void CuteDSLRT_TVMFFISetRaisedCudaLaunchError(
    SetRaisedFromCStrPartsFn set_error, int32_t grid_x, int32_t grid_y, int32_t grid_z, int32_t block_x,
    int32_t block_y, int32_t block_z, int32_t block_threads, int64_t dynamic_smem, int32_t device,
    int32_t max_threads, int32_t max_block_x, int32_t max_block_y, int32_t max_block_z, int32_t max_grid_x,
    int32_t max_grid_y, int32_t max_grid_z, int32_t max_smem, int32_t max_smem_optin, const char *violation,
    const char *source_file, int32_t source_line, int32_t source_col, int32_t source_end_col) {
  (void)source_col;
  (void)source_end_col;
  if (!set_error) return;
  char buf[640];
  snprintf(buf, sizeof buf,
           "invalid launch (%s) at %s:%d: grid (%d,%d,%d) block (%d,%d,%d) = %d threads, %lld B dynamic smem "
           "on device %d; limits: %d threads, block (%d,%d,%d), grid (%d,%d,%d), smem %d / opt-in %d",
           violation ? violation : "?", source_file ? source_file : "?", source_line, grid_x, grid_y, grid_z,
           block_x, block_y, block_z, block_threads, (long long)dynamic_smem, device, max_threads, max_block_x,
           max_block_y, max_block_z, max_grid_x, max_grid_y, max_grid_z, max_smem, max_smem_optin);
  const char *parts[1] = {buf};
  set_error("CUDADialectError", parts, 1);
}
