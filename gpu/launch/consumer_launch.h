// The device half of the consumer-side GPU ops, shared by the CUDA and HIP
// launchers (as launch.h is for the group ops): make the problem's device
// current, launch on the caller's stream, and turn a launch failure into a
// RuntimeError at this call.
#pragma once

#include <torch/headeronly/util/Exception.h>

#include "csrc/consumer_problem.h"
#include "gpu/device/block_quant_kernel.cuh"
#include "gpu/device/dequant_kernel.cuh"
#include "gpu/device/portability.h"

namespace groupquant {
namespace gpu {

template <typename Problem, typename Launch>
inline void run_consumer_op(const Problem& p, void* stream, const char* op,
                            Launch launch_fn) {
  if (p.empty()) return;
  const int device = p.device_index;
  DeviceGuard guard(device);
  STD_TORCH_CHECK(guard.status() == kSuccess, "groupquant: could not make cuda:",
                  device, " the current device: ", error_string(guard.status()));
  const Error e = launch_fn(p, static_cast<Stream>(stream));
  STD_TORCH_CHECK(e == kSuccess, "groupquant.", op,
                  ": kernel launch failed on cuda:", device, ": ",
                  error_string(e));
}

inline void block_quant_on_stream(const BlockQuantProblem& p, void* stream) {
  run_consumer_op(p, stream, "per_block_quant", launch_block_quant);
}

inline void dequant_on_stream(const DequantProblem& p, void* stream) {
  run_consumer_op(p, stream, "dequantize", launch_dequant);
}

}  // namespace gpu
}  // namespace groupquant
