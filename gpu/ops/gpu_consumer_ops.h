// The consumer-side GPU op entry points, written once for cuda/ and rocm/
// (gpu_ops.h's counterpart): shared validation, torch's current stream, then
// the backend's launcher. Plain C++ (the registration files), never
// nvcc/hipcc: torch_stream.h says why.
#pragma once

#include <cstdint>

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "csrc/consumer_validation.h"
#include "gpu/ops/torch_stream.h"

namespace groupquant {
namespace gpu {

using BlockQuantLauncher = void (*)(const BlockQuantProblem& problem, void* stream);
using DequantLauncher = void (*)(const DequantProblem& problem, void* stream);

template <BlockQuantLauncher block_quant, DequantLauncher dequant>
struct GpuConsumerOps {
  using Tensor = torch::stable::Tensor;
  static constexpr auto kDevice = torch::headeronly::DeviceType::CUDA;

  static void per_block_quant(Tensor input, Tensor output_q, Tensor output_s,
                              int64_t block_n, int64_t block_k, double eps,
                              double qmin, double qmax, bool scale_ue8m0) {
    const BlockQuantProblem p =
        validate_block_quant(input, output_q, output_s, block_n, block_k, eps,
                             qmin, qmax, scale_ue8m0, kDevice);
    if (!p.empty()) block_quant(p, torch_current_stream(p.device_index));
  }

  static void dequant_group(Tensor q, Tensor s, Tensor output,
                            int64_t group_size) {
    run(validate_dequant_group(q, s, output, group_size, kDevice));
  }

  static void dequant_block(Tensor q, Tensor s, Tensor output, int64_t block_n,
                            int64_t block_k) {
    run(validate_dequant_block(q, s, output, block_n, block_k, kDevice));
  }

 private:
  static void run(const DequantProblem& p) {
    if (!p.empty()) dequant(p, torch_current_stream(p.device_index));
  }
};

}  // namespace gpu
}  // namespace groupquant
