// The GPU op entry points, written once for cuda/ and rocm/: shared
// validation, torch's current stream, then the backend's launcher. Plain C++
// (the registration files), never nvcc/hipcc: torch_stream.h says why.
//
// Both CUDA and ROCm torch put GPU tensors on DeviceType::CUDA and register
// GPU kernels for the CUDA dispatch key; the loader never loads both
// libraries into one process (it picks by torch.version).
#pragma once

#include <cstdint>
#include <optional>

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "gpu/ops/torch_stream.h"
#include "csrc/validation.h"

namespace groupquant {
namespace gpu {

using Launcher = void (*)(const QuantProblem& problem, void* stream);

constexpr auto kGpuDevice = torch::headeronly::DeviceType::CUDA;

template <Launcher launch>
struct GpuOps {
  using Tensor = torch::stable::Tensor;

  static FusedMasked fused_masked(bool fuse_silu_and_mul,
                                  const std::optional<Tensor>& masked_m) {
    return FusedMasked{fuse_silu_and_mul,
                       masked_m.has_value() ? &*masked_m : nullptr};
  }

  // Empty problems never ask torch for a stream: nothing runs.
  static void run(const QuantProblem& problem) {
    if (problem.empty()) return;
    launch(problem, torch_current_stream(problem.device_index));
  }

  static void fp8(Tensor input, Tensor output_q, Tensor output_s,
                  int64_t group_size, double eps, double fp8_min,
                  double fp8_max, bool scale_ue8m0, bool fuse_silu_and_mul,
                  std::optional<Tensor> masked_m) {
    run(validate_fp8_quant(input, output_q, output_s, group_size, eps,
                           fp8_min, fp8_max, scale_ue8m0, kGpuDevice,
                           fused_masked(fuse_silu_and_mul, masked_m)));
  }

  static void int8(Tensor input, Tensor output_q, Tensor output_s,
                   int64_t group_size, double eps, double int8_min,
                   double int8_max, bool fuse_silu_and_mul,
                   std::optional<Tensor> masked_m) {
    run(validate_int8_quant(input, output_q, output_s, group_size, eps,
                            int8_min, int8_max, kGpuDevice,
                            fused_masked(fuse_silu_and_mul, masked_m)));
  }

  static void packed(Tensor input, Tensor output_q, Tensor output_s_packed,
                     int64_t group_size, double eps, double min_8bit,
                     double max_8bit, bool fuse_silu_and_mul,
                     std::optional<Tensor> masked_m) {
    run(validate_packed_quant(input, output_q, output_s_packed, group_size,
                              eps, min_8bit, max_8bit, kGpuDevice,
                              fused_masked(fuse_silu_and_mul, masked_m)));
  }
};

}  // namespace gpu
}  // namespace groupquant
