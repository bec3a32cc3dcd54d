// Smallest HIP source with device code: one code object per --offload-arch.
#include <hip/hip_runtime.h>

__global__ void gq_tiny_scale(float* p, float f) { p[threadIdx.x] *= f; }

void gq_tiny_launch(float* p, float f) { hipLaunchKernelGGL(gq_tiny_scale, dim3(1), dim3(64), 0, 0, p, f); }
