// The fused op's silu division g / (1 + e(-g)) without the IEEE division's
// per-element range check. The contract (docs/fused_silu_moe.md) defines it
// as one IEEE division; nvcc's __fdiv_rn is a reciprocal estimate, a Newton
// step, a quotient and one correction, followed by FCHK and a branch to a
// slow-path call for operands whose quotient or residual could leave the
// normal range. On the fused kernel, which is bound by instruction issue,
// that check, its branch and the registers the call clobbers cost about six
// instructions per element, and the call's convergence barrier keeps the
// compiler from interleaving neighbouring elements.
//
// For a gate g > kSiluQuickGateMin (and finite) the divisor d = 1 + e(-g)
// lies in [1, 1 + e(87)], so its reciprocal is a normal float, and the
// quotient g / d has magnitude at most |g|: no step of the sequence below
// overflows or flushes. Below about -87.34, 1/d is subnormal and the
// reciprocal estimate flushes it; at +Inf the residual is Inf - Inf. The
// sequence is __fdiv_rn's own fast path with the correction written as in
// gq_div_by_rcp (residual q * d - g, so -0 / d keeps its sign). That it
// equals gq_div_rn(g, d) for every such float32 g, subnormal gates
// included, is not argued but checked: tools/gpu/gpu_silu_check.cu runs it
// against __fdiv_rn on all 2^32 gate values (docs/fused_silu_moe.md gives
// the run). A lane holding any gate outside the range, or a NaN, takes the
// IEEE division for all its elements, so the result is the contract's on
// every input either way. Large positive gates stay on the quick path:
// activation outliers are positive and negative, and a bound on |g| sent
// lanes holding them (a heavy channel, 20-80x) to the slow path often
// enough to make the bench's fused calls 5% slower than with no quick path.
//
// HIP keeps its IEEE division everywhere: this sequence is unchecked on AMD
// hardware, whose reciprocal estimate differs.
#pragma once

#include "csrc/quant_math.h"
#include "gpu/device/portability.h"

namespace groupquant {
namespace gpu {

// Whether the kernels take the quick division at all (not on HIP).
constexpr bool kSiluQuickDivision = !GQ_PLATFORM_HIP;
constexpr float kSiluQuickGateMin = -87.0f;

// Whether g may take silu_div_quick: kSiluQuickGateMin < g <= FLT_MAX
// (false for NaN and +-Inf). '&', not '&&': two compares, no branch.
__device__ inline bool silu_quick_ok(float g) {
  return (g > kSiluQuickGateMin) & (g <= 3.40282347e38f);
}

// RN(g / d) for the d = 1 + e(-g) of a gate with silu_quick_ok(g).
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

// gq_silu_mul (csrc/quant_math.h) for a gate with silu_quick_ok(g).
__device__ inline float silu_mul_quick(float g, float u) {
  const float d = gq_add_rn(1.0f, gq_exp(-g));
  return gq_mul_rn(silu_div_quick(g, d), u);
}

}  // namespace gpu
}  // namespace groupquant
