// CPU implementations of the consumer-side ops: shared validation (which
// also rejects tensors that are not all on the CPU), then the CPU kernels.
#include <cstdint>

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "cpu/consumer_cpu.h"
#include "csrc/consumer_validation.h"

namespace groupquant {
namespace {

using torch::stable::Tensor;
constexpr auto kCpu = torch::headeronly::DeviceType::CPU;

void block_quant_cpu(Tensor input, Tensor output_q, Tensor output_s,
                     int64_t block_n, int64_t block_k, double eps, double qmin,
                     double qmax, bool scale_ue8m0) {
  cpu_backend::block_quant(validate_block_quant(input, output_q, output_s,
                                                block_n, block_k, eps, qmin,
                                                qmax, scale_ue8m0, kCpu));
}

void dequant_group_cpu(Tensor q, Tensor s, Tensor output, int64_t group_size) {
  cpu_backend::dequantize(validate_dequant_group(q, s, output, group_size, kCpu));
}

void dequant_block_cpu(Tensor q, Tensor s, Tensor output, int64_t block_n,
                       int64_t block_k) {
  cpu_backend::dequantize(
      validate_dequant_block(q, s, output, block_n, block_k, kCpu));
}

}  // namespace
}  // namespace groupquant

STABLE_TORCH_LIBRARY_IMPL(groupquant, CPU, m) {
  m.impl("per_block_quant", TORCH_BOX(&groupquant::block_quant_cpu));
  m.impl("dequantize_per_token_group", TORCH_BOX(&groupquant::dequant_group_cpu));
  m.impl("dequantize_per_block", TORCH_BOX(&groupquant::dequant_block_cpu));
}
