// The HIP launcher, callable from plain C++ (no HIP headers needed): the
// registration file validates with torch's stable ABI, this runs the kernel.
#pragma once

#include "csrc/consumer_problem.h"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace rocm_backend {

// Quantizes a validated problem on `stream`, a hipStream_t of the problem's
// device (torch's current one: gpu/ops/torch_stream.h). Empty problems
// return without a launch. Throws (via STD_TORCH_CHECK, RuntimeError in
// Python) when the device cannot be selected or the launch fails, e.g.
// because the library holds no code object for the GPU's architecture.
void launch_quant(const QuantProblem& problem, void* stream);

// The consumer-side ops (gpu/launch/consumer_launch.h), same contract.
void launch_block_quant(const BlockQuantProblem& problem, void* stream);
void launch_dequant(const DequantProblem& problem, void* stream);

}  // namespace rocm_backend
}  // namespace groupquant
