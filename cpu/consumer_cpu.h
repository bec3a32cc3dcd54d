// CPU kernels of the consumer-side ops: weight block quantization and the
// two dequantize ops, on problems that validation made safe to run.
#pragma once

#include "csrc/consumer_problem.h"

namespace groupquant {
namespace cpu_backend {

void block_quant(const BlockQuantProblem& problem);
void dequantize(const DequantProblem& problem);

}  // namespace cpu_backend
}  // namespace groupquant
