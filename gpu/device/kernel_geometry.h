// The work geometry the GPU kernels are written for, as plain constants: the
// kernels (nvcc / hipcc) and the host-side launch planning
// (gpu/launch/launch_plan.h, plain C++) both read it, and neither may
// disagree with the other.
#pragma once

namespace groupquant {
namespace gpu {

// Threads per block of every quantization kernel.
constexpr int kBlockThreads = 256;
// Groups per item at most; also the groups packed in one UE8M0 word.
constexpr int kChunk = 4;
// Lanes per group on the generic (unaligned / odd-size) path.
constexpr int kGenericLanes = 16;

}  // namespace gpu
}  // namespace groupquant
