// cuBLASLt's own candidates for one GEMM, callable one by one from Python (bench/cublaslt_algo_probe.py, through
// ctypes). Built on the GPU host, where the CUDA toolkit's headers are:
//   g++ -O2 -shared -fPIC -I$CUDA/include bench/cublaslt_algos.cpp -L<torch's cuBLAS lib dir> -lcublasLt -o lt.so
// The GEMM is torch's linear, out[M, N] = x[M, K] @ W[N, K]^T in row-major storage, which column-major cuBLAS sees
// as out^T[N, M] = W^T-as-stored (op T on a K x N matrix) times x^T-as-stored (K x M): the "TN" form, the only one
// Hopper's e4m3 GEMMs take. bf16 or e4m3 in, bf16 out, float32 accumulation; e4m3 with per-tensor scales read from
// device pointers, as torch._scaled_mm passes them (fast accumulation off, its default).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

struct Problem {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, out = nullptr;
  std::vector<cublasLtMatmulHeuristicResult_t> algos;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  bool fp8 = false;
};

cublasLtHandle_t handle = nullptr;
Problem current;

void release() {
  if (current.op) cublasLtMatmulDescDestroy(current.op);
  if (current.w) cublasLtMatrixLayoutDestroy(current.w);
  if (current.x) cublasLtMatrixLayoutDestroy(current.x);
  if (current.out) cublasLtMatrixLayoutDestroy(current.out);
  current = Problem{};
}

}  // namespace

extern "C" {

// Sets up M x N x K and asks the heuristic for up to max_algos candidates (best first); returns how many it gave,
// or a negative cuBLAS status.
int lt_setup(int fp8, long m, long n, long k, int max_algos, void* workspace, size_t workspace_bytes) {
  if (!handle && cublasLtCreate(&handle) != CUBLAS_STATUS_SUCCESS) return -1;
  release();
  current.fp8 = fp8 != 0;
  current.workspace = workspace;
  current.workspace_bytes = workspace_bytes;
  const cudaDataType_t in = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
  cublasStatus_t s = cublasLtMatmulDescCreate(&current.op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
  if (s != CUBLAS_STATUS_SUCCESS) return -static_cast<int>(s);
  const cublasOperation_t t = CUBLAS_OP_T, nt = CUBLAS_OP_N;
  cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t);
  cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_TRANSB, &nt, sizeof nt);
  if (fp8) {  // the pointers themselves are set per call (lt_run); the heuristic only needs to know there are some
    const void* dummy = workspace;
    cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &dummy, sizeof dummy);
    cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &dummy, sizeof dummy);
  }
  cublasLtMatrixLayoutCreate(&current.w, in, k, n, k);
  cublasLtMatrixLayoutCreate(&current.x, in, k, m, k);
  cublasLtMatrixLayoutCreate(&current.out, CUDA_R_16BF, n, m, n);
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulPreferenceCreate(&pref);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                       sizeof workspace_bytes);
  std::vector<cublasLtMatmulHeuristicResult_t> found(max_algos);
  int got = 0;
  s = cublasLtMatmulAlgoGetHeuristic(handle, current.op, current.w, current.x, current.out, current.out, pref,
                                     max_algos, found.data(), &got);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS) return -static_cast<int>(s);
  for (int i = 0; i < got; ++i)
    if (found[i].state == CUBLAS_STATUS_SUCCESS) current.algos.push_back(found[i]);
  return static_cast<int>(current.algos.size());
}

// Runs candidate i on `stream`: out = (W x) * scale_w * scale_x (scales: device float pointers, e4m3 only).
int lt_run(int i, const void* x, const void* w, void* out, const void* scale_x, const void* scale_w, void* stream) {
  if (i < 0 || i >= static_cast<int>(current.algos.size())) return -1000;
  if (current.fp8) {
    cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale_w, sizeof scale_w);
    cublasLtMatmulDescSetAttribute(current.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale_x, sizeof scale_x);
  }
  const float one = 1.0f, zero = 0.0f;
  return static_cast<int>(cublasLtMatmul(handle, current.op, &one, w, current.w, x, current.x, &zero, out,
                                         current.out, out, current.out, &current.algos[i].algo, current.workspace,
                                         current.workspace_bytes, static_cast<cudaStream_t>(stream)));
}

// Candidate i's configuration: algo id, tile, stages, split-K, reduction scheme, swizzle, custom option, cluster
// shape (cuBLASLt's enum values), its workspace bytes and the heuristic's waves count.
int lt_describe(int i, char* buf, int len) {
  if (i < 0 || i >= static_cast<int>(current.algos.size())) return -1;
  const cublasLtMatmulAlgo_t* a = &current.algos[i].algo;
  auto get = [a](cublasLtMatmulAlgoConfigAttributes_t attr) {
    uint32_t v = 0;  // every attribute read here is 32 bits (the algo id a signed one)
    size_t written = 0;
    cublasLtMatmulAlgoConfigGetAttribute(a, attr, &v, sizeof v, &written);
    return v;
  };
  return snprintf(buf, len, "id%u tile%u stages%u splitk%u red%u swz%u opt%u cluster%u ws%zu waves%.2f",
                  get(CUBLASLT_ALGO_CONFIG_ID), get(CUBLASLT_ALGO_CONFIG_TILE_ID),
                  get(CUBLASLT_ALGO_CONFIG_STAGES_ID), get(CUBLASLT_ALGO_CONFIG_SPLITK_NUM),
                  get(CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME), get(CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING),
                  get(CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION), get(CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID),
                  current.algos[i].workspaceSize, current.algos[i].wavesCount);
}

}  // extern "C"
