// Division of 32-bit unsigned integers by a divisor fixed per launch, as a
// multiply-high, a subtract, an add and two shifts. The GPU kernels split
// their item index into (row, chunk) with it: a hardware-less 32-bit division
// is a ~20-instruction sequence on NVIDIA and AMD GPUs, and it sits on the
// critical path of every small call.
//
// The method is the "round-up" multiplier of Granlund and Montgomery
// (PLDI 1994, fig. 4.1): with l = ceil(log2 d) and
//   m = floor(2^32 * (2^l - d) / d) + 1      (fits 32 bits for every d >= 1),
//   t = mulhi(m, n),   n / d = (t + ((n - t) >> 1)) >> (l - 1),
// exact for every n < 2^32. d = 1 (l = 0) is the one divisor whose shifts
// would be (0, -1); it gets shifts (0, 0) and m = 0, which reads t = 0 and
// n / 1 = n. tests/scalar/fast_divmod_test.cpp checks it against '/'.
#pragma once

#include <cstdint>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GQ_DIVMOD_HD __host__ __device__
#else
#define GQ_DIVMOD_HD
#endif

namespace groupquant {
namespace gpu {

struct FastDivU32 {
  uint32_t divisor = 1;
  uint32_t multiplier = 0;
  uint32_t shift1 = 0;
  uint32_t shift2 = 0;

  FastDivU32() = default;

  // Host side: d >= 1.
  explicit FastDivU32(uint32_t d) : divisor(d) {
    uint32_t l = 0;
    while (l < 32 && (uint64_t{1} << l) < d) ++l;
    if (l == 0) return;  // d == 1
    multiplier = static_cast<uint32_t>(
        ((uint64_t{1} << 32) * ((uint64_t{1} << l) - d)) / d + 1);
    shift1 = 1;
    shift2 = l - 1;
  }

  GQ_DIVMOD_HD uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    const uint32_t t = __umulhi(multiplier, n);
#else
    const uint32_t t = static_cast<uint32_t>(
        (static_cast<uint64_t>(multiplier) * n) >> 32);
#endif
    return (t + ((n - t) >> shift1)) >> shift2;
  }

  GQ_DIVMOD_HD void divmod(uint32_t n, uint32_t& q, uint32_t& r) const {
    q = div(n);
    r = n - q * divisor;
  }
};

}  // namespace gpu
}  // namespace groupquant
