// The fused op's silu division g / (1 + e(-g)) without the IEEE division's
// per-element range check. The contract (docs/fused_silu_moe.md) defines it
// as one IEEE division; nvcc's __fdiv_rn is a reciprocal estimate, a Newton
// step, a quotient and one correction, followed by FCHK and a branch to a
// slow-path call for operands whose quotient or residual could leave the
// normal range. On the fused kernel, which is bound by instruction issue,
// that check, its branch and the registers the call clobbers cost several
// instructions per element.
//
// silu_div_quick is that fast path with the correction written as in
// gq_div_by_rcp (residual q * d - g, so -0 / d keeps its sign). For a gate
// g > kSiluQuickGateMin the divisor d = 1 + e(-g) lies in [1, 1 + e(87)],
// its reciprocal is a normal float and no step overflows; below about
// -87.34 the reciprocal of d is subnormal and the estimate flushes it.
// The kernels take it for |g| < kSiluQuickGateMax (silu_quick_ok: one
// compare of |g|, false for NaN and +-Inf), where e's clamps to [LO, HI]
// are the identity, so the quick path also skips them (silu_exp_quick).
// silu_div_wide covers every finite gate: below the bound it divides
// g * 2^-64 by d * 2^-64 (both exact, the same quotient, now with a normal
// reciprocal); +-Inf gates (Inf - Inf in the residual) and NaN take the
// IEEE division. That both equal gq_div_rn(g, d) is not argued but
// checked: d is a function of g, and tools/gpu/gpu_silu_check.cu compares
// them with __fdiv_rn over all 2^32 float32 gates.
//
// HIP keeps its IEEE division everywhere: the sequence is unchecked on AMD
// hardware, whose reciprocal estimate differs.
#pragma once

#include "csrc/quant_math.h"
#include "gpu/device/portability.h"

namespace groupquant {
namespace gpu {

// Whether the kernels take the quick division at all (not on HIP).
constexpr bool kSiluQuickDivision = !GQ_PLATFORM_HIP;
constexpr float kSiluQuickGateMin = -87.0f;
constexpr float kSiluQuickGateMax = 87.0f;

// Whether g takes the quick path: |g| < 87 (false for NaN and +-Inf).
__device__ inline bool silu_quick_ok(float g) {
  return fabsf(g) < kSiluQuickGateMax;
}

// gq_exp(x) for |x| < 87: inside [LO, HI] = [-87.34, 88.72], so e's clamps
// are the identity and only its steps 2-6 run.
__device__ inline float silu_exp_quick(float x) { return gq_exp_in_range(x); }

// RN(g / d) for the d = 1 + e(-g) of a gate g > kSiluQuickGateMin (finite).
__device__ inline float silu_div_quick(float g, float d) {
#if GQ_PLATFORM_HIP
  return gq_div_rn(g, d);
#else
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
  r = __fmaf_rn(r, __fmaf_rn(-d, r, 1.0f), r);
  const float q = __fmul_rn(g, r);
  return __fmaf_rn(-__fmaf_rn(q, d, -g), r, q);
#endif
}

// RN(g / d) for the d = 1 + e(-g) of any gate.
__device__ inline float silu_div_wide(float g, float d) {
  if (!(fabsf(g) <= 3.40282347e38f)) return gq_div_rn(g, d);  // +-Inf, NaN
  const float c = g <= kSiluQuickGateMin ? 0x1p-64f : 1.0f;
  return silu_div_quick(gq_mul_rn(g, c), gq_mul_rn(d, c));
}

}  // namespace gpu
}  // namespace groupquant
