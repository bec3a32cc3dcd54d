// Smallest CUDA source with device code: enough for nvcc to emit one cubin
// (and PTX) per requested arch.
__global__ void gq_tiny_scale(float* p, float f) { p[threadIdx.x] *= f; }

void gq_tiny_launch(float* p, float f) { gq_tiny_scale<<<1, 32>>>(p, f); }
