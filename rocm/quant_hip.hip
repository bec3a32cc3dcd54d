// HIP launcher. Everything in it is shared with the CUDA backend: the kernels
// (gpu/device/quant_kernel.cuh), the variant and grid choice
// (quant_launch.cuh), the device guard and launch check (launch.h). What
// AMD hardware changes (64-lane wavefronts, shuffles without masks,
// hipStream_t) is spelled in gpu/device/portability.h.
//
// Compiled once per --rocm_archs entry (gfx90a, gfx940 by default); the
// code objects' kernel set and scratch use are checked by tests/rocm_build.
#include "rocm/quant_hip.h"

#include "gpu/launch/consumer_launch.h"
#include "gpu/launch/launch.h"

#if !defined(__HIPCC__)
#error "rocm/quant_hip.hip must be compiled by hipcc"
#endif

namespace groupquant {
namespace rocm_backend {

void launch_quant(const QuantProblem& problem, void* stream) {
  gpu::launch_on_stream(problem, stream);
}

void launch_block_quant(const BlockQuantProblem& problem, void* stream) {
  gpu::block_quant_on_stream(problem, stream);
}

void launch_dequant(const DequantProblem& problem, void* stream) {
  gpu::dequant_on_stream(problem, stream);
}

}  // namespace rocm_backend
}  // namespace groupquant
