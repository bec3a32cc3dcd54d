// ROCm registrations of the groupquant ops. ROCm torch keeps CUDA's names, so
// these register for the CUDA dispatch key (gpu/ops/gpu_ops.h holds the
// entry points shared with cuda/).
#include <torch/csrc/stable/library.h>

#include "gpu/ops/gpu_consumer_ops.h"
#include "gpu/ops/gpu_ops.h"
#include "rocm/quant_hip.h"

using RocmOps = groupquant::gpu::GpuOps<&groupquant::rocm_backend::launch_quant>;

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_token_group_fp8_quant", TORCH_BOX(&RocmOps::fp8));
  m.impl("per_token_group_quant_int8", TORCH_BOX(&RocmOps::int8));
  m.impl("per_token_group_quant_8bit_packed", TORCH_BOX(&RocmOps::packed));
}

// The consumer-side ops (gpu/ops/gpu_consumer_ops.h).
using RocmConsumerOps =
    groupquant::gpu::GpuConsumerOps<&groupquant::rocm_backend::launch_block_quant,
                                    &groupquant::rocm_backend::launch_dequant>;

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_block_quant", TORCH_BOX(&RocmConsumerOps::per_block_quant));
  m.impl("dequantize_per_token_group", TORCH_BOX(&RocmConsumerOps::dequant_group));
  m.impl("dequantize_per_block", TORCH_BOX(&RocmConsumerOps::dequant_block));
}
