// Exact element conversions for the block-quant and dequantize ops, shared
// by the CPU kernels and the CUDA/HIP kernels so every backend produces the
// same bits (the same role quant_math.h plays for the group op).
//
// Decoding (8-bit code or 16-bit float -> float32) is exact: every value of
// those formats is a float32. Encoding to bf16/fp16 is round-to-nearest-even
// from the float32 bits, written out here rather than left to each backend's
// conversion intrinsic, whose NaN payloads and (on some compilers) subnormal
// handling differ. Every NaN becomes the positive canonical quiet NaN of the
// output format (0x7FC00000, 0x7FC0, 0x7E00), so no bit depends on how a
// backend propagates NaN payloads through a multiply.
#pragma once

#include <cstdint>

#include "csrc/quant_math.h"

namespace groupquant {

// ---- 16-bit floats -> float32 ---------------------------------------------

GQ_HOST_DEVICE inline float gq_bf16_to_float(uint16_t b) {
  return gq_bits_float(static_cast<uint32_t>(b) << 16);
}

// binary16 -> binary32 from the bits: normals rebias the exponent, Inf/NaN
// keep the all-ones exponent, subnormals are mantissa * 2^-24 (an exact
// integer-to-float conversion and an exact power-of-two product).
GQ_HOST_DEVICE inline float gq_half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t em = h & 0x7FFFu;
  uint32_t mag;
  if (em >= 0x7C00u) {
    mag = (em << 13) | 0x7F800000u;
  } else if (em < 0x0400u) {
    mag = gq_float_bits(static_cast<float>(static_cast<int32_t>(em)) *
                        5.9604644775390625e-08f);  // 2^-24
  } else {
    mag = (em << 13) + (112u << 23);
  }
  return gq_bits_float(mag | sign);
}

// ---- 8-bit codes -> float32 ------------------------------------------------

// e4m3fn: bias 7, no Inf, NaN is S.1111.111. Subnormals are m * 2^-9.
GQ_HOST_DEVICE inline float gq_decode_e4m3fn(uint8_t c) {
  const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
  const uint32_t e = (c >> 3) & 0xFu;
  const uint32_t m = c & 0x7u;
  uint32_t mag;
  if (e == 0xFu && m == 0x7u) {
    return gq_bits_float(0x7FC00000u);
  } else if (e == 0u) {
    // m * 2^-9 is exact; m == 0 gives +0, the sign below makes -0.
    mag = gq_float_bits(static_cast<float>(m) * 0.001953125f);
  } else {
    mag = ((e + 120u) << 23) | (m << 20);
  }
  return gq_bits_float(mag | sign);
}

// e4m3fnuz: bias 8, no Inf, no -0; 0x80 is the only NaN. Subnormals m * 2^-10.
GQ_HOST_DEVICE inline float gq_decode_e4m3fnuz(uint8_t c) {
  if (c == 0x80u) return gq_bits_float(0x7FC00000u);
  const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
  const uint32_t e = (c >> 3) & 0xFu;
  const uint32_t m = c & 0x7u;
  uint32_t mag;
  if (e == 0u) {
    mag = gq_float_bits(static_cast<float>(m) * 0.0009765625f);
  } else {
    mag = ((e + 119u) << 23) | (m << 20);
  }
  return gq_bits_float(mag | sign);
}

GQ_HOST_DEVICE inline float gq_decode_int8(uint8_t c) {
  return static_cast<float>(static_cast<int8_t>(c));
}

template <QuantFormat F>
GQ_HOST_DEVICE inline float gq_decode(uint8_t c) {
  if (F == QuantFormat::kE4M3FN) return gq_decode_e4m3fn(c);
  if (F == QuantFormat::kE4M3FNUZ) return gq_decode_e4m3fnuz(c);
  return gq_decode_int8(c);
}

// ---- float32 -> outputs ----------------------------------------------------

GQ_HOST_DEVICE inline bool gq_is_nan_bits(uint32_t b) {
  return (b & 0x7FFFFFFFu) > 0x7F800000u;
}

GQ_HOST_DEVICE inline uint32_t gq_float_out_bits(float v) {
  const uint32_t b = gq_float_bits(v);
  return gq_is_nan_bits(b) ? 0x7FC00000u : b;
}

// RNE to bf16: adding 0x7FFF plus the kept lsb and truncating rounds the
// low 16 bits to nearest, ties to even; a carry correctly bumps the exponent
// (to Inf above the largest bf16). Subnormals need nothing special: bf16
// shares float32's exponent range, so the integer rounding is linear there.
GQ_HOST_DEVICE inline uint16_t gq_float_to_bf16(float v) {
  const uint32_t b = gq_float_bits(v);
  if (gq_is_nan_bits(b)) return 0x7FC0u;
  return static_cast<uint16_t>((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// RNE to binary16. Normal results round the mantissa from 23 to 10 bits the
// same way as bf16, then rebias; a result at or above 0x7C00 is Inf (the
// carry out of the largest finite value included). Results below 2^-14 are
// rounded by adding 0.5, whose ulp (2^-24) is the fp16 subnormal quantum, so
// the FPU's own RNE rounds them, including the step up to the smallest
// normal. Needs the default rounding mode and no flush-to-zero.
GQ_HOST_DEVICE inline uint16_t gq_float_to_half(float v) {
  const uint32_t b = gq_float_bits(v);
  if (gq_is_nan_bits(b)) return 0x7E00u;
  const uint32_t sign = (b >> 16) & 0x8000u;
  const uint32_t a = b & 0x7FFFFFFFu;
  uint32_t mag;
  if (a >= 0x47800000u) {  // >= 65536: Inf whatever the rounding
    mag = 0x7C00u;
  } else if (a < 0x38800000u) {  // below 2^-14
#if defined(__CUDA_ARCH__)
    const float t = __fadd_rn(gq_bits_float(a), 0.5f);
#else
    const float t = gq_bits_float(a) + 0.5f;
#endif
    mag = gq_float_bits(t) - 0x3F000000u;
  } else {
    const uint32_t r = (a + 0xFFFu + ((a >> 13) & 1u)) >> 13;
    mag = r - (112u << 10);
    mag = mag < 0x7C00u ? mag : 0x7C00u;
  }
  return static_cast<uint16_t>(mag | sign);
}

// Output element formats of the dequantize ops (the inputs of the quant ops).
template <InputFormat F>
struct DequantOut;

template <>
struct DequantOut<InputFormat::kFloat32> {
  using Raw = uint32_t;
  GQ_HOST_DEVICE static Raw encode(float v) { return gq_float_out_bits(v); }
};
template <>
struct DequantOut<InputFormat::kBFloat16> {
  using Raw = uint16_t;
  GQ_HOST_DEVICE static Raw encode(float v) { return gq_float_to_bf16(v); }
};
template <>
struct DequantOut<InputFormat::kFloat16> {
  using Raw = uint16_t;
  GQ_HOST_DEVICE static Raw encode(float v) { return gq_float_to_half(v); }
};

// Input element of the block quant op, read as float32 exactly.
template <InputFormat F>
GQ_HOST_DEVICE inline float gq_load_input(const void* base, int64_t i) {
  if (F == InputFormat::kFloat32) {
    return static_cast<const float*>(base)[i];
  } else if (F == InputFormat::kBFloat16) {
    return gq_bf16_to_float(static_cast<const uint16_t*>(base)[i]);
  } else {
    return gq_half_to_float(static_cast<const uint16_t*>(base)[i]);
  }
}

// The 8-bit code of q = encode(clamp(x / s, qmin, qmax)) as in the group op.
template <QuantFormat F>
GQ_HOST_DEVICE inline uint8_t gq_encode_code(float v) {
  if (F == QuantFormat::kE4M3FN) return gq_encode_e4m3fn(v);
  if (F == QuantFormat::kE4M3FNUZ) return gq_encode_e4m3fnuz(v);
  return static_cast<uint8_t>(gq_encode_int8(v));
}

// Scale of a packed UE8M0 byte as the dequantize op reads it: the float with
// that biased exponent and a zero mantissa, 2^(byte - 127) for bytes 1..254,
// 0 for byte 0 (only padding holds it) and +Inf for 255.
GQ_HOST_DEVICE inline float gq_ue8m0_scale(uint32_t byte) {
  return gq_bits_float((byte & 0xFFu) << 23);
}

}  // namespace groupquant
