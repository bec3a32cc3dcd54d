// CUDA implementations of the groupquant ops: the shared validation (which
// also rejects tensors that are not on one CUDA device), then the launcher.
#include <cstdint>

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "csrc/gpu/torch_stream.h"
#include "csrc/validation.h"
#include "cuda/quant_cuda.h"

namespace groupquant {
namespace {

using torch::stable::Tensor;
constexpr auto kCuda = torch::headeronly::DeviceType::CUDA;

// Empty problems never ask torch for a stream: nothing runs.
void run(const QuantProblem& problem) {
  if (problem.empty()) return;
  cuda_backend::launch_quant(problem,
                             gpu::torch_current_stream(problem.device_index));
}

void fp8_quant_cuda(Tensor input, Tensor output_q, Tensor output_s,
                    int64_t group_size, double eps, double fp8_min,
                    double fp8_max, bool scale_ue8m0) {
  run(validate_fp8_quant(input, output_q, output_s, group_size, eps, fp8_min,
                         fp8_max, scale_ue8m0, kCuda));
}

void int8_quant_cuda(Tensor input, Tensor output_q, Tensor output_s,
                     int64_t group_size, double eps, double int8_min,
                     double int8_max) {
  run(validate_int8_quant(input, output_q, output_s, group_size, eps,
                          int8_min, int8_max, kCuda));
}

void packed_quant_cuda(Tensor input, Tensor output_q, Tensor output_s_packed,
                       int64_t group_size, double eps, double min_8bit,
                       double max_8bit) {
  run(validate_packed_quant(input, output_q, output_s_packed, group_size, eps,
                            min_8bit, max_8bit, kCuda));
}

}  // namespace
}  // namespace groupquant

STABLE_TORCH_LIBRARY_IMPL(groupquant, CUDA, m) {
  m.impl("per_token_group_fp8_quant", TORCH_BOX(&groupquant::fp8_quant_cuda));
  m.impl("per_token_group_quant_int8", TORCH_BOX(&groupquant::int8_quant_cuda));
  m.impl("per_token_group_quant_8bit_packed",
         TORCH_BOX(&groupquant::packed_quant_cuda));
}
