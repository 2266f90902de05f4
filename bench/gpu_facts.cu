// Max active clusters per cluster size on this GPU, as cutlass.utils.HardwareInfo asks for it:
// cudaOccupancyMaxActiveClusters for a kernel whose CTA takes all of an SM's shared memory (so
// one CTA per SM, as a persistent GEMM's does), launched with that cluster shape.
// Build and run on the GPU host: nvcc -arch=sm_90a -o /tmp/gpu_facts bench/gpu_facts.cu && /tmp/gpu_facts
#include <cstdio>
#include <cuda_runtime.h>

__global__ void empty_kernel() {}

int main() {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) { printf("no device\n"); return 1; }
  printf("device %s sms %d cc %d.%d l2 %d\n", p.name, p.multiProcessorCount, p.major, p.minor, p.l2CacheSize);
  cudaFuncSetAttribute(empty_kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1);
  const int smem = (int)p.sharedMemPerBlockOptin;
  cudaFuncSetAttribute(empty_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  for (int size : {1, 2, 4, 8, 16}) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(size, 1, 1);
    cfg.blockDim = dim3(128, 1, 1);
    cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute attr;
    attr.id = cudaLaunchAttributeClusterDimension;
    attr.val.clusterDim.x = size; attr.val.clusterDim.y = 1; attr.val.clusterDim.z = 1;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
    int n = -1;
    cudaError_t e = cudaOccupancyMaxActiveClusters(&n, (void*)empty_kernel, &cfg);
    printf("cluster %d max_active %d %s\n", size, n, e == cudaSuccess ? "" : cudaGetErrorString(e));
  }
  return 0;
}
