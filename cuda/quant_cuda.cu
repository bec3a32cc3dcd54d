// CUDA launcher. The device guard, the SM-count cache, the dispatcher and the
// launch check are shared with the HIP backend (gpu/launch/launch.h); this
// translation unit is where nvcc instantiates the kernels for CUDA.
#include "cuda/quant_cuda.h"

#include "gpu/launch/consumer_launch.h"
#include "gpu/launch/launch.h"

namespace groupquant {
namespace cuda_backend {

void launch_quant(const QuantProblem& problem, void* stream) {
  gpu::launch_on_stream(problem, stream);
}

void launch_block_quant(const BlockQuantProblem& problem, void* stream) {
  gpu::block_quant_on_stream(problem, stream);
}

void launch_dequant(const DequantProblem& problem, void* stream) {
  gpu::dequant_on_stream(problem, stream);
}

}  // namespace cuda_backend
}  // namespace groupquant
