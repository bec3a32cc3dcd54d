// CPU implementations of the groupquant ops: the shared validation (which
// also rejects tensors that are not all on the CPU), then the CPU kernels.
#include <cstdint>
#include <optional>

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "cpu/quant_cpu.h"
#include "csrc/validation.h"

namespace groupquant {
namespace {

using torch::stable::Tensor;
constexpr auto kCpu = torch::headeronly::DeviceType::CPU;

FusedMasked fused_masked(bool fuse_silu_and_mul,
                         const std::optional<Tensor>& masked_m) {
  return FusedMasked{fuse_silu_and_mul,
                     masked_m.has_value() ? &*masked_m : nullptr};
}

void fp8_quant_cpu(Tensor input, Tensor output_q, Tensor output_s,
                   int64_t group_size, double eps, double fp8_min,
                   double fp8_max, bool scale_ue8m0, bool fuse_silu_and_mul,
                   std::optional<Tensor> masked_m) {
  cpu_backend::quantize(validate_fp8_quant(
      input, output_q, output_s, group_size, eps, fp8_min, fp8_max,
      scale_ue8m0, kCpu, fused_masked(fuse_silu_and_mul, masked_m)));
}

void int8_quant_cpu(Tensor input, Tensor output_q, Tensor output_s,
                    int64_t group_size, double eps, double int8_min,
                    double int8_max, bool fuse_silu_and_mul,
                    std::optional<Tensor> masked_m) {
  cpu_backend::quantize(validate_int8_quant(
      input, output_q, output_s, group_size, eps, int8_min, int8_max, kCpu,
      fused_masked(fuse_silu_and_mul, masked_m)));
}

void packed_quant_cpu(Tensor input, Tensor output_q, Tensor output_s_packed,
                      int64_t group_size, double eps, double min_8bit,
                      double max_8bit, bool fuse_silu_and_mul,
                      std::optional<Tensor> masked_m) {
  cpu_backend::quantize(validate_packed_quant(
      input, output_q, output_s_packed, group_size, eps, min_8bit, max_8bit,
      kCpu, fused_masked(fuse_silu_and_mul, masked_m)));
}

}  // namespace
}  // namespace groupquant

STABLE_TORCH_LIBRARY_IMPL(groupquant, CPU, m) {
  m.impl("per_token_group_fp8_quant", TORCH_BOX(&groupquant::fp8_quant_cpu));
  m.impl("per_token_group_quant_int8", TORCH_BOX(&groupquant::int8_quant_cpu));
  m.impl("per_token_group_quant_8bit_packed",
         TORCH_BOX(&groupquant::packed_quant_cpu));
}
