// CUDA registrations of the groupquant ops (csrc/gpu/gpu_ops.h holds the
// entry points shared with rocm/).
#include <torch/csrc/stable/library.h>

#include "csrc/gpu/gpu_ops.h"
#include "cuda/quant_cuda.h"

using CudaOps = groupquant::gpu::GpuOps<&groupquant::cuda_backend::launch_quant>;

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_token_group_fp8_quant", TORCH_BOX(&CudaOps::fp8));
  m.impl("per_token_group_quant_int8", TORCH_BOX(&CudaOps::int8));
  m.impl("per_token_group_quant_8bit_packed", TORCH_BOX(&CudaOps::packed));
}
