// CUDA registrations of the groupquant ops (gpu/ops/gpu_ops.h holds the
// entry points shared with rocm/).
#include <torch/csrc/stable/library.h>

#include "gpu/ops/gpu_consumer_ops.h"
#include "gpu/ops/gpu_ops.h"
#include "cuda/quant_cuda.h"

using CudaOps = groupquant::gpu::GpuOps<&groupquant::cuda_backend::launch_quant>;

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_token_group_fp8_quant", TORCH_BOX(&CudaOps::fp8));
  m.impl("per_token_group_quant_int8", TORCH_BOX(&CudaOps::int8));
  m.impl("per_token_group_quant_8bit_packed", TORCH_BOX(&CudaOps::packed));
}

// The consumer-side ops (gpu/ops/gpu_consumer_ops.h).
using CudaConsumerOps =
    groupquant::gpu::GpuConsumerOps<&groupquant::cuda_backend::launch_block_quant,
                                    &groupquant::cuda_backend::launch_dequant>;

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_block_quant", TORCH_BOX(&CudaConsumerOps::per_block_quant));
  m.impl("dequantize_per_token_group", TORCH_BOX(&CudaConsumerOps::dequant_group));
  m.impl("dequantize_per_block", TORCH_BOX(&CudaConsumerOps::dequant_block));
}
