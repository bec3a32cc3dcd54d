// The CUDA launcher, callable from plain C++ (no CUDA headers needed): the
// registration file validates with torch's stable ABI and fetches torch's
// current stream; this runs the kernel there.
#pragma once

#include "csrc/consumer_problem.h"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace cuda_backend {

// Quantizes a validated problem on `stream` (torch's current cudaStream_t of
// the problem's device). Empty problems return without a launch. Throws
// (STD_TORCH_CHECK, RuntimeError in Python) when the device cannot be made
// current or the launch fails.
void launch_quant(const QuantProblem& problem, void* stream);

// The consumer-side ops (gpu/launch/consumer_launch.h), same contract.
void launch_block_quant(const BlockQuantProblem& problem, void* stream);
void launch_dequant(const DequantProblem& problem, void* stream);

}  // namespace cuda_backend
}  // namespace groupquant
