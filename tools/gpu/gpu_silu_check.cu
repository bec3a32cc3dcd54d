// Exhaustive check of the fused kernels' quick silu division
// (gpu/device/silu_division.cuh): for every one of the 2^32 float32 gate
// bit patterns g with silu_quick_ok(g) (|g| < 87), silu_div_quick(g, d) must
// equal __fdiv_rn(g, d) bit for bit, d = 1 + gq_exp(-g) as the contract
// computes it, and the quick path's divisor 1 + silu_exp_quick(-g) must be
// that d; silu_div_wide(g, d) must equal it for every g (a NaN for a NaN). Since d is a function of g, this covers every (g, d) pair the kernels
// can meet, for every input dtype (bf16 and fp16 gates are float32 values
// too). Gates outside the limit are also tried and their differences
// counted, to show how much margin the limit leaves; they never take the
// quick path. Exit status 0 only when no in-range gate differs. Build, run:
//   nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
//        tools/gpu/gpu_silu_check.cu -o gpu_silu_check && ./gpu_silu_check
#include <cstdint>
#include <cstdio>

#include "csrc/quant_math.h"
#include "gpu/device/silu_division.cuh"

namespace gq = groupquant;

struct Counts {
  unsigned long long in_range;    // gates that take the quick path
  unsigned long long bad;         // ... whose quotient differs
  unsigned long long outside_bad; // finite gates beyond the limit that would
  unsigned int first_bad;         // smallest differing in-range pattern
  unsigned int first_outside_bad; // smallest differing pattern beyond it
  unsigned long long wide_bad;    // any gate whose silu_div_wide differs
  unsigned int first_wide_bad;    // (NaN counts as equal to NaN)
  unsigned long long exp_bad;     // in-range gates whose quick divisor differs
  unsigned long long no_newton_bad;  // in range: the division without its
                                     // Newton step would differ (a probe)
  unsigned int no_newton_first;      // ... the smallest such pattern
};

// The quick division without its Newton step (rcp estimate, quotient, one
// correction): not used by the kernels; counted to see whether it could be.
__device__ inline float div_no_newton(float g, float d) {
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
  const float q = __fmul_rn(g, r);
  return __fmaf_rn(-__fmaf_rn(q, d, -g), r, q);
}

__global__ void sweep(Counts* out) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  unsigned long long in_range = 0, bad = 0, outside_bad = 0;
  unsigned int first = 0xFFFFFFFFu, first_outside = 0xFFFFFFFFu;
  unsigned long long wide_bad = 0, exp_bad = 0, no_newton_bad = 0;
  unsigned int first_wide = 0xFFFFFFFFu, first_no_newton = 0xFFFFFFFFu;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x +
                    threadIdx.x;
       i < (1ull << 32); i += stride) {
    const uint32_t bits = static_cast<uint32_t>(i);
    const float g = __uint_as_float(bits);
    const float d = gq::gq_add_rn(1.0f, gq::gq_exp(-g));
    const float want = __fdiv_rn(g, d);
    const float got = gq::gpu::silu_div_quick(g, d);
    const float wide = gq::gpu::silu_div_wide(g, d);
    const bool equal = __float_as_uint(want) == __float_as_uint(got);
    if (!(__float_as_uint(want) == __float_as_uint(wide) ||
          (want != want && wide != wide))) {
      ++wide_bad;
      first_wide = min(first_wide, bits);
    }
    if (gq::gpu::silu_quick_ok(g)) {
      ++in_range;
      const float dq = gq::gq_add_rn(1.0f, gq::gpu::silu_exp_quick(-g));
      if (__float_as_uint(dq) != __float_as_uint(d)) ++exp_bad;
      if (__float_as_uint(div_no_newton(g, d)) != __float_as_uint(want)) {
        ++no_newton_bad;
        first_no_newton = min(first_no_newton, bits);
      }
      if (!equal) {
        ++bad;
        first = min(first, bits);
      }
    } else if (isfinite(g) && !equal) {
      ++outside_bad;
      first_outside = min(first_outside, bits);
    }
  }
  atomicAdd(&out->in_range, in_range);
  if (bad) atomicAdd(&out->bad, bad);
  if (wide_bad) atomicAdd(&out->wide_bad, wide_bad);
  if (exp_bad) atomicAdd(&out->exp_bad, exp_bad);
  if (no_newton_bad) atomicAdd(&out->no_newton_bad, no_newton_bad);
  if (first_no_newton != 0xFFFFFFFFu) {
    atomicMin(&out->no_newton_first, first_no_newton);
  }
  if (first_wide != 0xFFFFFFFFu) atomicMin(&out->first_wide_bad, first_wide);
  if (outside_bad) atomicAdd(&out->outside_bad, outside_bad);
  if (first != 0xFFFFFFFFu) atomicMin(&out->first_bad, first);
  if (first_outside != 0xFFFFFFFFu) {
    atomicMin(&out->first_outside_bad, first_outside);
  }
}

int main() {
  if (!gq::gpu::kSiluQuickDivision) {
    std::printf("quick silu division is off on this platform\n");
    return 0;
  }
  Counts* dev = nullptr;
  if (cudaMalloc(&dev, sizeof(Counts)) != cudaSuccess) {
    std::fprintf(stderr, "cudaMalloc failed\n");
    return 2;
  }
  const Counts init{0, 0, 0, 0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0,
                    0xFFFFFFFFu};
  cudaMemcpy(dev, &init, sizeof(init), cudaMemcpyHostToDevice);
  sweep<<<132 * 8, 256>>>(dev);
  Counts c;
  const cudaError_t e = cudaMemcpy(&c, dev, sizeof(c), cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    std::fprintf(stderr, "kernel failed: %s\n", cudaGetErrorString(e));
    return 2;
  }
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  std::printf("%s (sm_%d%d): %llu gates |g| < %g checked against "
              "__fdiv_rn: %llu differ (first 0x%08x); their quick divisor "
              "differs from 1 + gq_exp(-g) for %llu; finite gates outside "
              "that would differ: %llu (first 0x%08x)\n",
              prop.name, prop.major, prop.minor, c.in_range,
              gq::gpu::kSiluQuickGateMax, c.bad, c.first_bad, c.exp_bad,
              c.outside_bad, c.first_outside_bad);
  std::printf("probe, not used: without the Newton step %llu in-range "
              "gates would differ (first 0x%08x = %.9g)\n", c.no_newton_bad,
              c.no_newton_first,
              static_cast<double>(__builtin_bit_cast(float, c.no_newton_first)));
  std::printf("silu_div_wide over all 2^32 gates: %llu differ from __fdiv_rn "
              "(first 0x%08x)\n", c.wide_bad, c.first_wide_bad);
  return c.bad == 0 && c.wide_bad == 0 && c.exp_bad == 0 && c.in_range > 0
             ? 0
             : 1;
}
