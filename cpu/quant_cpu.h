// CPU kernels: quantize a validated problem on the calling host, using the
// cores this process may run on (std::thread; torch's own thread pool is not
// reachable through the stable ABI and OpenMP would clash with torch's).
#pragma once

#include "csrc/quant_problem.h"

namespace groupquant {
namespace cpu_backend {

// Runs every op/format/layout described by `problem` (which validation made
// safe to run). Empty problems return at once.
void quantize(const QuantProblem& problem);

}  // namespace cpu_backend
}  // namespace groupquant
