// Scalar math of per-token-group quantization, shared verbatim by the CPU
// kernels, the CUDA/HIP kernels and the pybind11 test module, so that every
// backend computes each output bit with the same code.
//
// Everything here is branch-light integer/float code with constant shifts so
// that host compilers can vectorize loops over it (SSE2 and up), and nothing
// depends on libm beyond fabsf, which exists on every device too.
#pragma once

#include <cstdint>
#include <cstring>
#include <math.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GQ_HOST_DEVICE __host__ __device__
#else
#define GQ_HOST_DEVICE
#endif

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define GQ_DEVICE_PASS 1
#else
#define GQ_DEVICE_PASS 0
#endif

namespace groupquant {

GQ_HOST_DEVICE inline uint32_t gq_float_bits(float f) {
#if GQ_DEVICE_PASS
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
#endif
}

GQ_HOST_DEVICE inline float gq_bits_float(uint32_t u) {
#if GQ_DEVICE_PASS
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
#endif
}

// IEEE round-to-nearest division. nvcc's default (-prec-div=true) already
// gives it for '/', but --use_fast_math would silently replace it; __fdiv_rn
// cannot be replaced. HIP's '/' is correctly rounded unless fast-math is on.
GQ_HOST_DEVICE inline float gq_div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// One IEEE float32 operation each, never fused with a neighbour into an FMA
// (a contraction would skip a rounding the Python reference performs). CUDA:
// the __f*_rn intrinsics are never contracted. Clang (HIP device and host):
// the pragma clears the contract flag on this operation, which survives
// inlining. GCC hosts: the including targets build with -ffp-contract=off
// (cpu/, tests/scalar); nvcc's host pass has no FMA in baseline x86-64.
GQ_HOST_DEVICE inline float gq_mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  return a * b;
#endif
}

GQ_HOST_DEVICE inline float gq_add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  return a + b;
#endif
}

GQ_HOST_DEVICE inline float gq_sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  return a - b;
#endif
}

// RN(1 / s), the correctly rounded reciprocal.
GQ_HOST_DEVICE inline float gq_rcp_rn(float s) {
#if defined(__CUDA_ARCH__)
  return __frcp_rn(s);
#else
  return 1.0f / s;
#endif
}

// RN(x / s) at the cost of a multiply and two FMAs, given r = gq_rcp_rn(s):
// the quotient estimate y = RN(x * r), its exact residual e = y * s - x (one
// FMA), and the correction RN(y - e * r) (one FMA). This is the sequence the
// CUDA compiler emits for an IEEE division once its reciprocal is found,
// with the reciprocal hoisted out of the loop over a group. It equals
// gq_div_rn(x, s) for 2^-90 <= s <= 2^90 whenever |x / s| lies in
// [2^-12, 2^20]; below 2^-12 it returns a value of the right sign and
// magnitude below 2^-11, which every 8-bit format encodes like the exact
// quotient (signed zero). The argument and the exhaustive GPU check are in
// docs/exact_division.md. Writing the residual as y * s - x (rather than
// x - y * s) keeps the sign of a zero quotient: -0 / s gives -0.
GQ_HOST_DEVICE inline float gq_div_by_rcp(float x, float s, float r) {
#if defined(__CUDA_ARCH__)
  const float y = __fmul_rn(x, r);
  const float e = __fmaf_rn(y, s, -x);
  return __fmaf_rn(-e, r, y);
#else
  const float y = x * r;
  return fmaf(-fmaf(y, s, -x), r, y);
#endif
}

// The range of divisors for which gq_div_by_rcp is exact (see above).
GQ_HOST_DEVICE inline bool gq_rcp_division_ok(float s) {
  return s >= 0x1p-90f && s <= 0x1p90f;
}

// fmaxf(acc, |v|) for a non-NaN acc: a NaN v is ignored. Written as a compare
// so that host compilers map it to a plain vector max (fmaxf's NaN rule would
// block that), with the same result because acc is never NaN.
GQ_HOST_DEVICE inline float gq_abs_max_step(float acc, float v) {
  const float a = fabsf(v);
  return a > acc ? a : acc;
}

// clamp(v, lo, hi) that lets NaN through (NaN fails both comparisons).
GQ_HOST_DEVICE inline float gq_clamp_keep_nan(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

// Smallest power of two >= max(s, 2^-33), from the bits (log2f/exp2f are not
// exact everywhere). s is a non-negative scale; +Inf stays +Inf. The floor is
// applied first, so subnormal s never reaches the bit arithmetic.
GQ_HOST_DEVICE inline float gq_ue8m0_round_up(float s) {
  const float kFloor = 1.16415321826934814453125e-10f;  // 2^-33
  s = s > kFloor ? s : kFloor;                           // NaN -> floor
  const uint32_t b = gq_float_bits(s);
  const uint32_t exp_field = b >> 23;  // sign is 0
  if (exp_field >= 0xFFu) return s;    // +Inf
  const uint32_t up = (b & 0x7FFFFFu) != 0u ? 1u : 0u;
  // exp_field + up may reach 0xFF: 2^128 rounds to +Inf, as it must.
  return gq_bits_float((exp_field + up) << 23);
}

// Biased exponent byte of a power-of-two (or +Inf) scale: 2^(byte - 127).
GQ_HOST_DEVICE inline uint8_t gq_ue8m0_byte(float s) {
  return static_cast<uint8_t>((gq_float_bits(s) >> 23) & 0xFFu);
}

// s = max(amax, eps) / qmax (IEEE), then the UE8M0 round-up when asked.
GQ_HOST_DEVICE inline float gq_group_scale(float amax, float eps, float qmax,
                                           bool ue8m0) {
  const float a = amax > eps ? amax : eps;
  const float s = gq_div_rn(a, qmax);
  return ue8m0 ? gq_ue8m0_round_up(s) : s;
}

namespace detail {

// Round-to-nearest-even of |v| (bits `a`, no sign, not NaN) into an E4M3
// magnitude code with exponent bias `kBias` and largest finite code
// `kMaxCode`. Normal results round the 23-bit mantissa to 3 bits with the
// usual add-half-minus-one-plus-lsb trick (a carry correctly bumps the
// exponent). Results below the smallest normal are rounded by adding a float
// whose ulp is exactly the FP8 subnormal quantum: the FPU's own RNE does the
// rounding, including ties and the step up to the smallest normal (code 8).
// That needs the default rounding mode, which every backend runs under.
template <int kBias, uint32_t kMaxCode>
GQ_HOST_DEVICE inline uint32_t e4m3_magnitude_code(uint32_t a) {
  // Smallest normal FP8 magnitude, 2^(1 - bias), as fp32 bits.
  const uint32_t kMinNormalBits = static_cast<uint32_t>(127 + 1 - kBias) << 23;
  // 2^(21 - bias): its ulp (2^-23 relative) is the subnormal quantum
  // 2^(1 - bias - 3).
  const uint32_t kMagicBits = static_cast<uint32_t>(127 + 21 - kBias) << 23;
  // Above the largest finite (or +Inf): saturate. Compare on bits first so
  // the rounding below never overflows 32 bits.
  const uint32_t kClampBits = 0x7F000000u;

  const uint32_t ac = a < kClampBits ? a : kClampBits;
  const uint32_t normal =
      ((ac + 0x7FFFFu + ((ac >> 20) & 1u)) >> 20) -
      (static_cast<uint32_t>(127 - kBias) << 3);
#if defined(__CUDA_ARCH__)
  // __fadd_rn: immune to fast-math flags that may change how '+' rounds.
  const float sub_f = __fadd_rn(gq_bits_float(a < kMinNormalBits ? a : 0u),
                                gq_bits_float(kMagicBits));
#else
  const float sub_f = gq_bits_float(a < kMinNormalBits ? a : 0u) +
                      gq_bits_float(kMagicBits);
#endif
  const uint32_t sub = gq_float_bits(sub_f) - kMagicBits;
  const uint32_t code = a < kMinNormalBits ? sub : normal;
  return code < kMaxCode ? code : kMaxCode;
}

}  // namespace detail

// float -> float8_e4m3fn byte: bias 7, max 448, NaN 0x7F/0xFF (NaN in gives
// 0x7F), signed zero kept. RNE; |v| beyond 448 saturates to +-448.
GQ_HOST_DEVICE inline uint8_t gq_encode_e4m3fn(float v) {
  const uint32_t b = gq_float_bits(v);
  const uint32_t a = b & 0x7FFFFFFFu;
  const uint32_t sign = (b >> 24) & 0x80u;
  const uint32_t mag = detail::e4m3_magnitude_code<7, 0x7Eu>(a);
  return static_cast<uint8_t>(a > 0x7F800000u ? 0x7Fu : (mag | sign));
}

// float -> float8_e4m3fnuz byte: bias 8, max 240, the only NaN is 0x80, no
// negative zero (anything that rounds to zero is 0x00). RNE; |v| beyond 240
// saturates to +-240.
GQ_HOST_DEVICE inline uint8_t gq_encode_e4m3fnuz(float v) {
  const uint32_t b = gq_float_bits(v);
  const uint32_t a = b & 0x7FFFFFFFu;
  const uint32_t mag = detail::e4m3_magnitude_code<8, 0x7Fu>(a);
  const uint32_t sign = mag != 0u ? ((b >> 24) & 0x80u) : 0u;
  return static_cast<uint8_t>(a > 0x7F800000u ? 0x80u : (mag | sign));
}

// float -> int8, round half to even; NaN -> 0; out of range saturates.
// Adding and subtracting 1.5 * 2^23 rounds any |v| <= 2^22 to an integer with
// the FPU's RNE; the clamp keeps v in that range. The compare form of the
// clamp maps NaN to itself, hence the explicit NaN select.
GQ_HOST_DEVICE inline int8_t gq_encode_int8(float v) {
  const float kMagic = 12582912.0f;  // 1.5 * 2^23
  float c = v < -128.0f ? -128.0f : v;
  c = c > 127.0f ? 127.0f : c;
  c = (v == v) ? c : 0.0f;
#if GQ_DEVICE_PASS
  (void)kMagic;
  return static_cast<int8_t>(static_cast<int32_t>(rintf(c)));
#else
  // rintf would be a libm call on baseline x86-64 and stop vectorization.
  const float r = (c + kMagic) - kMagic;
  return static_cast<int8_t>(static_cast<int32_t>(r));
#endif
}

// ---- fused SiLU * mul -----------------------------------------------------
//
// e(x): the float32 exp of the fused op, defined operation by operation so
// that every backend and the reference (groupquant.reference.exp_f32) give
// the same bits; libm's expf differs between libraries. Written for the GPU's
// issue budget (about 16 instructions): every fma below is one IEEE fused
// multiply-add, written out (never a contraction the compiler chose), and
// every other step one IEEE operation.
//   1. xc = x < HI ? x : HI, then xc = xc > LO ? xc : LO (NaN becomes HI). LO = 0xC2AEAC4F (-87.33654, the first float above
//      -126 ln 2), HI = 0x42B17217 (88.72283, the last float below 128 ln 2):
//      the range where 2^n below can be applied by adding n to the exponent
//      field and the result is a normal float.
//   2. t = fma(xc, log2 e, 1.5 * 2^23): the integer n = rint(xc log2 e) sits
//      in t's low mantissa bits; nf = t - 1.5 * 2^23 is n as a float.
//   3. Cody-Waite: r = fma(nf, -ln2_hi, xc) (exact: ln2_hi has 15 bits), then
//      r = fma(nf, -ln2_lo, r); |r| <= ~ln2 / 2.
//   4. P = c7; P = fma(P, r, c) for c = c6 .. c2 (Taylor 1/k!, float32).
//   5. er = 1 + fma(r * r, P, r)      (exp(r) in [0.707, 1.415])
//   6. e = bits(bits(er) + (bits(t) << 23)): n added to the exponent field
//      (bits(t) << 23 is n << 23 modulo 2^32, since 1.5 * 2^23's own bits
//      shift out). By the choice of LO and HI the sum stays a normal float.
// So e saturates: e(x) = e(LO) ~ 2^-126 for x < LO (true value subnormal or
// zero) and e(x) = e(HI) ~ 3.4028e38 for x > HI (true value overflows), and
// e(NaN) = e(HI). Inside [LO, HI] the error against the true exp over every
// float32 input is measured by tests/scalar/exp_ulp_sweep.cc (see
// docs/fused_silu_moe.md). For silu only 1 + e(-g) matters, which the
// saturation leaves exact at both ends (1 + 2^-126 = 1; g / 3.4e38 is what
// g * e^g is at g = -88.7).
namespace detail {
constexpr uint32_t kExpLoBits = 0xC2AEAC4Fu;     // -87.33654
constexpr uint32_t kExpHiBits = 0x42B17217u;     // 88.72283
constexpr uint32_t kExpLog2eBits = 0x3FB8AA3Bu;  // log2(e) rounded
constexpr uint32_t kExpLn2HiBits = 0x3F317200u;  // 15 bits of ln 2
constexpr uint32_t kExpLn2LoBits = 0x35BFBE8Eu;  // ln 2 - hi, rounded
constexpr uint32_t kExpC2Bits = 0x3F000000u;     // 1/2
constexpr uint32_t kExpC3Bits = 0x3E2AAAABu;     // 1/6
constexpr uint32_t kExpC4Bits = 0x3D2AAAABu;     // 1/24
constexpr uint32_t kExpC5Bits = 0x3C088889u;     // 1/120
constexpr uint32_t kExpC6Bits = 0x3AB60B61u;     // 1/720
constexpr uint32_t kExpC7Bits = 0x39500D01u;     // 1/5040
}  // namespace detail

// fma(a, b, c) rounded once. CUDA: __fmaf_rn is never split or re-fused;
// host and HIP: C99's fmaf is correctly rounded by definition.
GQ_HOST_DEVICE inline float gq_fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return fmaf(a, b, c);
#endif
}

// Steps 2-6 of e for an xc already in [LO, HI] (step 1 is then the
// identity): gq_exp's value there, for callers that know the range.
GQ_HOST_DEVICE inline float gq_exp_in_range(float xc) {
  const float t = gq_fma_rn(xc, gq_bits_float(detail::kExpLog2eBits), 12582912.0f);
  const float nf = gq_sub_rn(t, 12582912.0f);
  float r = gq_fma_rn(nf, -gq_bits_float(detail::kExpLn2HiBits), xc);
  r = gq_fma_rn(nf, -gq_bits_float(detail::kExpLn2LoBits), r);
  float p = gq_bits_float(detail::kExpC7Bits);
  p = gq_fma_rn(p, r, gq_bits_float(detail::kExpC6Bits));
  p = gq_fma_rn(p, r, gq_bits_float(detail::kExpC5Bits));
  p = gq_fma_rn(p, r, gq_bits_float(detail::kExpC4Bits));
  p = gq_fma_rn(p, r, gq_bits_float(detail::kExpC3Bits));
  p = gq_fma_rn(p, r, gq_bits_float(detail::kExpC2Bits));
  const float er = gq_add_rn(1.0f, gq_fma_rn(gq_mul_rn(r, r), p, r));
  return gq_bits_float(gq_float_bits(er) + (gq_float_bits(t) << 23));
}

GQ_HOST_DEVICE inline float gq_exp(float x) {
  // Compare-and-select rather than fminf/fmaxf: libm's fminf turns a
  // signaling NaN into a quiet NaN instead of returning the other operand.
  const float hi = gq_bits_float(detail::kExpHiBits);
  const float lo = gq_bits_float(detail::kExpLoBits);
  float xc = x < hi ? x : hi;  // NaN -> hi
  xc = xc > lo ? xc : lo;
  return gq_exp_in_range(xc);
}

// y = silu(g) * u = (g / (1 + e(-g))) * u, each step one IEEE operation.
// Non-finite inputs follow IEEE through the same steps, with e's saturation:
// silu(+Inf) = +Inf / 1 = +Inf, silu(-Inf) = -Inf / 3.4e38 = -Inf,
// silu(NaN) = NaN, and 0 * Inf = NaN. `div(g, d)` must be RN(g / d) and
// `exp(x)` gq_exp(x) for the gates it is given: the CUDA kernels pass
// sequences checked equal to them (gpu/device/silu_division.cuh);
// gq_silu_mul passes gq_div_rn and gq_exp.
template <typename Div, typename Exp>
GQ_HOST_DEVICE inline float gq_silu_mul_by(float g, float u, Div div, Exp exp) {
  const float d = gq_add_rn(1.0f, exp(-g));
  return gq_mul_rn(div(g, d), u);
}

GQ_HOST_DEVICE inline float gq_silu_mul(float g, float u) {
  return gq_silu_mul_by(
      g, u, [](float a, float b) { return gq_div_rn(a, b); },
      [](float x) { return gq_exp(x); });
}

}  // namespace groupquant
