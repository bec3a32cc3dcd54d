// The CPU row kernel, compiled once per instruction set: quant_cpu.cpp
// includes this file several times, each time with GQ_ISA_NS (a namespace
// name) and GQ_ISA_ATTR (a function attribute such as
// __attribute__((target("avx2")))) defined, and picks a version at run time.
// The code is plain scalar C++ written so that the compiler vectorizes the
// inner loops: no branches in them, integer bit tricks with constant shifts,
// and the shared encoders of csrc/quant_math.h (inlined).
//
// No include guard or #pragma once: it is meant to be included repeatedly.

namespace GQ_ISA_NS {

// |x| bits of one element with NaN mapped to 0; the maximum of these over a
// group is the bits of amax (for non-negative non-NaN floats the bit order is
// the value order), which turns the amax pass into an integer max reduction
// that vectorizes without fast-math flags. The bits are held in a signed type
// (they never use the top bit): GCC 12 does not vectorize the unsigned form.
template <InputFormat F>
struct In;

template <>
struct In<InputFormat::kFloat32> {
  using Raw = uint32_t;
  using Abs = int32_t;
  static GQ_ISA_ATTR inline Abs abs_bits(Raw b) {
    const int32_t a = static_cast<int32_t>(b & 0x7FFFFFFFu);
    return a > 0x7F800000 ? 0 : a;
  }
  static GQ_ISA_ATTR inline float to_float(Raw b) { return gq_bits_float(b); }
};

template <>
struct In<InputFormat::kBFloat16> {
  using Raw = uint16_t;
  using Abs = int16_t;
  static GQ_ISA_ATTR inline Abs abs_bits(Raw b) {
    const int16_t a = static_cast<int16_t>(b & 0x7FFFu);
    return a > 0x7F80 ? static_cast<int16_t>(0) : a;
  }
  static GQ_ISA_ATTR inline float to_float(Raw b) {
    return gq_bits_float(static_cast<uint32_t>(b) << 16);
  }
};

template <>
struct In<InputFormat::kFloat16> {
  using Raw = uint16_t;
  using Abs = int16_t;
  static GQ_ISA_ATTR inline Abs abs_bits(Raw b) {
    const int16_t a = static_cast<int16_t>(b & 0x7FFFu);
    return a > 0x7C00 ? static_cast<int16_t>(0) : a;
  }
  // Exact binary16 -> binary32 from the bits, branch-free: normals rebias
  // the exponent, Inf/NaN map to the all-ones exponent (payload kept), and
  // subnormals are the integer mantissa times 2^-24 (both steps exact).
  static GQ_ISA_ATTR inline float to_float(Raw b) {
    const uint32_t h = b;
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t em = h & 0x7FFFu;
    const uint32_t normal = (em << 13) + (112u << 23);
    const uint32_t special = (em << 13) | 0x7F800000u;
    const float sub = static_cast<float>(static_cast<int32_t>(em)) *
                      5.9604644775390625e-08f;  // 2^-24
    const uint32_t mag = em >= 0x7C00u ? special
                         : em < 0x0400u ? gq_float_bits(sub)
                                        : normal;
    return gq_bits_float(mag | sign);
  }
};

template <QuantFormat F>
struct Out;

template <>
struct Out<QuantFormat::kE4M3FN> {
  static GQ_ISA_ATTR inline uint8_t encode(float v) {
    return gq_encode_e4m3fn(v);
  }
};
template <>
struct Out<QuantFormat::kE4M3FNUZ> {
  static GQ_ISA_ATTR inline uint8_t encode(float v) {
    return gq_encode_e4m3fnuz(v);
  }
};
template <>
struct Out<QuantFormat::kInt8> {
  static GQ_ISA_ATTR inline uint8_t encode(float v) {
    return static_cast<uint8_t>(gq_encode_int8(v));
  }
};

template <InputFormat FI>
GQ_ISA_ATTR inline float group_amax(const typename In<FI>::Raw* x,
                                    int64_t n) {
  using Abs = typename In<FI>::Abs;
  Abs acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Abs a = In<FI>::abs_bits(x[i]);
    acc = a > acc ? a : acc;
  }
  return In<FI>::to_float(static_cast<typename In<FI>::Raw>(acc));
}

// q[i] = encode(clamp(x[i] / s)). With a power-of-two s (UE8M0) x * (1/s) is
// the same IEEE result as x / s (1/s is exact, and both round the same
// exact value once), and multiplying is much cheaper than dividing. The
// pointers do not alias: validation rejects overlapping input and output.
template <InputFormat FI, QuantFormat FO, bool kMulByInverse>
GQ_ISA_ATTR inline void quantize_group(
    const typename In<FI>::Raw* __restrict x, uint8_t* __restrict q,
    int64_t n, float s, float qmin, float qmax) {
  const float inv = 1.0f / s;
  for (int64_t i = 0; i < n; ++i) {
    const float v = In<FI>::to_float(x[i]);
    const float t = kMulByInverse ? v * inv : v / s;
    q[i] = Out<FO>::encode(gq_clamp_keep_nan(t, qmin, qmax));
  }
}

template <InputFormat FI, QuantFormat FO, bool kPacked, bool kUE8M0>
GQ_ISA_ATTR void quantize_rows(const QuantProblem& p, int64_t row_begin,
                               int64_t row_end) {
  using Raw = typename In<FI>::Raw;
  const Raw* x_base = static_cast<const Raw*>(p.x);
  uint8_t* q_base = static_cast<uint8_t*>(p.q);
  const int64_t gs = p.group_size;
  const int64_t groups = p.groups_per_row;
  const float eps = p.eps, qmin = p.qmin, qmax = p.qmax;

  for (int64_t r = row_begin; r < row_end; ++r) {
    const Raw* x = x_base + r * p.x_row_stride;
    uint8_t* q = q_base + r * p.q_row_stride;
    if (kPacked) {
      int32_t* words = static_cast<int32_t*>(p.s) + r;
      for (int64_t c = 0; c < p.packed_cols; ++c) {
        uint32_t word = 0;
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t g = 4 * c + j;
          if (g >= groups) break;  // bytes past K/G stay 0
          const float amax = group_amax<FI>(x + g * gs, gs);
          const float s = gq_group_scale(amax, eps, qmax, true);
          quantize_group<FI, FO, true>(x + g * gs, q + g * gs, gs, s, qmin,
                                       qmax);
          word |= static_cast<uint32_t>(gq_ue8m0_byte(s)) << (8 * j);
        }
        words[c * p.packed_col_stride] = static_cast<int32_t>(word);
      }
    } else {
      float* srow = static_cast<float*>(p.s) + r * p.s_row_stride;
      for (int64_t g = 0; g < groups; ++g) {
        const float amax = group_amax<FI>(x + g * gs, gs);
        const float s = gq_group_scale(amax, eps, qmax, kUE8M0);
        quantize_group<FI, FO, kUE8M0>(x + g * gs, q + g * gs, gs, s, qmin,
                                       qmax);
        srow[g * p.s_group_stride] = s;
      }
    }
  }
}

// pick() returns one RowsFnPtr (declared by the includer) per (input,
// output, layout), so each thread makes a single indirect call.
template <InputFormat FI, QuantFormat FO>
RowsFnPtr pick_layout(const QuantProblem& p) {
  if (p.layout == ScaleLayout::kPackedUE8M0) {
    return &quantize_rows<FI, FO, true, true>;
  }
  return p.ue8m0 ? &quantize_rows<FI, FO, false, true>
                 : &quantize_rows<FI, FO, false, false>;
}

inline RowsFnPtr pick(const QuantProblem& p) {
  return dispatch_input_format(p.in_format, [&p](auto in) {
    return dispatch_quant_format(p.out_format, [&p](auto out) {
      return pick_layout<decltype(in)::value, decltype(out)::value>(p);
    });
  });
}

}  // namespace GQ_ISA_NS
