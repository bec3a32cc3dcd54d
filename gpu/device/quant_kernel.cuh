// The per-token-group quantization kernels, shared verbatim by the CUDA and
// the HIP backends (compiled by nvcc and hipcc; see portability.h).
//
// Work decomposition. x is [m, k]; each row has gpr = k / G groups. A *chunk*
// is up to kChunk consecutive groups of one row, and an *item* is one
// (row, chunk) pair. One sub-group of `lanes` consecutive lanes (a power of
// two <= 16) owns an item: every lane holds its share of each of the chunk's
// groups in registers, the group maxima are combined with XOR shuffles inside
// the sub-group, and the groups are quantized from the same registers. With
// the packed UE8M0 layout a chunk is exactly the 4 groups of one int32 word,
// so the sub-group that owns the item owns all four exponent bytes and its
// lane 0 is the only writer of that word: no atomics, no second pass.
//
// Why sub-groups of at most 16 lanes: it divides both the 32-lane NVIDIA warp
// and the 64-lane AMD wavefront, so the shuffles (with an explicit width)
// never cross a sub-group on either, and a group of 128 bf16 values (256 B)
// is exactly 16 loads of 16 bytes.
//
// The math is csrc/quant_math.h, the code the CPU backend runs, which is what
// makes the outputs bit-identical across backends. Cheaper spellings replace
// it on the hot path, each equal to it by construction or by an exhaustive
// check over all 2^32 floats (tools/gpu/gpu_encode_check.cu and
// tools/gpu/gpu_division_check.cu): fmaxf for gq_abs_max_step, the sm_89+
// e4m3 conversion for the software FP8 encoders, cvt.rni for the int8
// encoder, the exact reciprocal of a power-of-two scale, and x / s as a
// multiply and two FMAs by the group's correctly rounded reciprocal
// (gq_div_by_rcp; docs/exact_division.md) wherever s allows it.
#pragma once

#include <cstdint>
#include <type_traits>

#include "gpu/device/fast_divmod.h"
#include "gpu/device/kernel_geometry.h"
#include "gpu/device/portability.h"
#include "csrc/quant_math.h"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace gpu {

// What the kernels read, in 64-bit extents and strides (elements for x and q,
// float or int32 words for s). The per-launch choices that change the inner
// loop (UE8M0 multiply or division, clamp, fnuz encoder, vectors per lane)
// are template arguments of the kernel instead, so that each kernel holds one
// loop body: at M = 1 a kernel with a ladder of bodies was measured stalling
// on instruction fetch.
struct KernelParams {
  const void* x;
  void* q;
  void* s;
  int64_t m;               // rows of data
  int64_t gpr;             // groups per row
  int64_t group_size;
  int64_t chunks_per_row;  // ceil(gpr / chunk)
  int64_t items;           // rows * chunks_per_row (rows = round_up(m, 4) packed)
  int64_t x_row_stride;
  int64_t q_row_stride;
  int64_t s_row_stride;    // strided layout
  int64_t s_group_stride;  // strided layout
  int64_t packed_col_stride;
  FastDivU32 chunk_div;    // item -> (row, chunk) when items fit 32 bits
  float eps;
  float qmin;
  float qmax;
  // RN(1 / qmax), for the scale division max(amax, eps) / qmax; used only
  // when scale_by_rcp (qmax one of the bounds the exhaustive check covers).
  float qmax_rcp;
  int32_t chunk;       // groups per item: 1, 2 or 4 (always 4 when packed)
  int32_t lanes;       // lanes per group, power of two <= 16
  int32_t lanes_log2;
  bool ue8m0;          // generic kernel only (the fast one has it as kPow2)
  bool packed;
  bool narrow_items;   // items fit 32 bits: multiply-shift index division
  bool scale_by_rcp;
};

// ---- input formats -------------------------------------------------------

template <InputFormat F>
struct Input;

template <>
struct Input<InputFormat::kFloat32> {
  static constexpr int kBytes = 4;
  __device__ static float load(const void* base, int64_t i) {
    return static_cast<const float*>(base)[i];
  }
  __device__ static void unpack(const uint4& r, float (&f)[4]) {
    f[0] = __uint_as_float(r.x);
    f[1] = __uint_as_float(r.y);
    f[2] = __uint_as_float(r.z);
    f[3] = __uint_as_float(r.w);
  }
};

// The 16- and 8-byte unpacking of the 2-byte inputs, through Derived's
// unpack_words (two values per 32-bit word, low half first). The 8-byte
// form serves fused_small_kernel's half vectors.
template <typename Derived>
struct TwoByteInput {
  static constexpr int kBytes = 2;
  __device__ static void unpack(const uint4& r, float (&f)[8]) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
    Derived::unpack_words(w, f);
  }
  __device__ static void unpack(const uint2& r, float (&f)[4]) {
    const uint32_t w[2] = {r.x, r.y};
    Derived::unpack_words(w, f);
  }
};

template <>
struct Input<InputFormat::kBFloat16>
    : TwoByteInput<Input<InputFormat::kBFloat16>> {
  // bf16 is the top half of a float: widening is a shift, exact.
  __device__ static float load(const void* base, int64_t i) {
    return __uint_as_float(
        static_cast<uint32_t>(static_cast<const uint16_t*>(base)[i]) << 16);
  }
  template <int kWords>
  __device__ static void unpack_words(const uint32_t (&w)[kWords],
                                      float (&f)[2 * kWords]) {
#pragma unroll
    for (int i = 0; i < kWords; ++i) {
      f[2 * i] = __uint_as_float(w[i] << 16);
      f[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
  }
};

template <>
struct Input<InputFormat::kFloat16>
    : TwoByteInput<Input<InputFormat::kFloat16>> {
  __device__ static float load(const void* base, int64_t i) {
    return half_bits_to_float(static_cast<const uint16_t*>(base)[i]);
  }
  template <int kWords>
  __device__ static void unpack_words(const uint32_t (&w)[kWords],
                                      float (&f)[2 * kWords]) {
#pragma unroll
    for (int i = 0; i < kWords; ++i) {
      f[2 * i] = half_bits_to_float(static_cast<uint16_t>(w[i] & 0xFFFFu));
      f[2 * i + 1] = half_bits_to_float(static_cast<uint16_t>(w[i] >> 16));
    }
  }
};

// ---- output formats ------------------------------------------------------

template <QuantFormat F>
__device__ inline uint32_t encode_one(float v) {
  if constexpr (F == QuantFormat::kE4M3FN) {
    return gq_encode_e4m3fn(v);
  } else if constexpr (F == QuantFormat::kE4M3FNUZ) {
    return gq_encode_e4m3fnuz(v);
  } else {
    return static_cast<uint8_t>(gq_encode_int8(v));
  }
}

#if GQ_HW_E4M3
// One F2FP for two values. RNE, saturating to +-448, NaN -> 0x7F: equal to
// gq_encode_e4m3fn on all 2^32 floats (tools/gpu/gpu_encode_check.cu). The first
// source lands in the upper byte.
__device__ inline uint32_t hw_e4m3fn_pair(float lo, float hi) {
  uint16_t r;
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
  return r;
}

// e4m3fnuz(v) for |v| <= 224 (or NaN) through the e4m3fn conversion of 2v:
// the two formats share their bit layout with exponent biases 8 and 7, so
// fnuz code c means half of what fn code c means, normals and subnormals
// alike, and doubling is exact. Saturation at fn's 448 is fnuz's 224, which
// also makes this equal to clamp-to-[-224, 224]-then-encode for any v.
// Two fix-ups: fnuz has no -0 (a value that rounds to zero, |2v| <= 2^-10,
// becomes +0), and its only NaN 0x80 is what fn gives for -0. Checked
// against gq_encode_e4m3fnuz on all 2^32 floats (tools/gpu/gpu_encode_check.cu).
__device__ inline float fnuz_as_fn_operand(float v) {
  const float y = 2.f * v;
  const float z = fabsf(y) <= 0x1p-10f ? 0.f : y;
  return v != v ? -0.f : z;
}
#endif

// Two values -> two bytes (lo at the lower address). kAlt selects the
// e4m3fnuz-through-e4m3fn path (only valid when |v| <= 224 or v is NaN).
template <QuantFormat F, bool kAlt>
__device__ inline uint32_t encode_pair(float lo, float hi) {
#if GQ_HW_E4M3
  if constexpr (F == QuantFormat::kE4M3FN) {
    return hw_e4m3fn_pair(lo, hi);
  } else if constexpr (F == QuantFormat::kE4M3FNUZ && kAlt) {
    return hw_e4m3fn_pair(fnuz_as_fn_operand(lo), fnuz_as_fn_operand(hi));
  }
#endif
#if !GQ_PLATFORM_HIP
  if constexpr (F == QuantFormat::kInt8) {
    // cvt.rni.s32.f32 rounds half to even, saturates and maps NaN to 0; the
    // integer clamp then saturates to int8. Equal to gq_encode_int8 on all
    // 2^32 floats (tools/gpu/gpu_encode_check.cu).
    const int a = min(max(__float2int_rn(lo), -128), 127);
    const int b = min(max(__float2int_rn(hi), -128), 127);
    return (static_cast<uint32_t>(a) & 0xFFu) |
           ((static_cast<uint32_t>(b) & 0xFFu) << 8);
  }
#endif
  if constexpr (F == QuantFormat::kE4M3FNUZ && kAlt) {
    // No hardware path here: the software encoder with the +-224 saturation
    // that the hardware path gets from fn's +-448.
    return encode_one<F>(gq_clamp_keep_nan(lo, -224.f, 224.f)) |
           (encode_one<F>(gq_clamp_keep_nan(hi, -224.f, 224.f)) << 8);
  }
  return encode_one<F>(lo) | (encode_one<F>(hi) << 8);
}

// ---- helpers -------------------------------------------------------------

__device__ inline void split_item(const KernelParams& p, int64_t item,
                                  int64_t& row, int64_t& chunk_index) {
  if (p.narrow_items) {
    uint32_t r, c;
    p.chunk_div.divmod(static_cast<uint32_t>(item), r, c);
    row = r;
    chunk_index = c;
  } else {
    row = item / p.chunks_per_row;
    chunk_index = item - row * p.chunks_per_row;
  }
}

// kMaxLanes: the most lanes a group can have here (16, or 32 for
// fused_small_kernel's half vectors).
template <int kMaxLanes = 16>
__device__ inline float group_max(float a, int lanes) {
  // Always log2(kMaxLanes) butterfly steps, every lane of the warp executing
  // each one (shfl_xor's requirement) with no branch: for a power-of-two
  // `lanes`, off & (lanes - 1) is off while off < lanes and 0 (a lane's own
  // value, which leaves the maximum unchanged) after that.
  static_assert(kMaxLanes == 16 || kMaxLanes == 32, "a group is in one warp");
#pragma unroll
  for (int off = kMaxLanes / 2; off > 0; off >>= 1) {
    a = fmaxf(a, shfl_xor(a, off & (lanes - 1), lanes));
  }
  return a;
}

// 1/s for a UE8M0 scale (2^e with e in [-33, 127], or +Inf), exactly, from
// the bits: 2^-e is a normal float for biased exponents below 254, 2^-127 is
// the subnormal 0x00400000, and 1/Inf = 0. Same value as gq_div_rn(1.f, s)
// without the division.
__device__ inline float pow2_reciprocal(float s) {
  const uint32_t e = __float_as_uint(s) >> 23;
  const uint32_t bits =
      e < 254u ? (254u - e) << 23 : (e == 254u ? 0x00400000u : 0u);
  return __uint_as_float(bits);
}

// gq_abs_max_step's result (|v| folded into a running maximum, NaN ignored)
// in one FMNMX: the running maximum is never NaN, so fmaxf's rule of
// returning the non-NaN operand is exactly "ignore NaN", and max is exact in
// any order, which also allows the tree below.
__device__ inline float abs_max2(float a, float b) {
  return fmaxf(fabsf(a), fabsf(b));
}

template <int N>
__device__ inline float abs_max_tree(const float (&f)[N]) {
  static_assert(N == 4 || N == 8, "16-byte vectors hold 4 or 8 values");
  float m0 = abs_max2(f[0], f[1]);
  float m1 = abs_max2(f[2], f[3]);
  if constexpr (N == 8) {
    m0 = fmaxf(m0, abs_max2(f[4], f[5]));
    m1 = fmaxf(m1, abs_max2(f[6], f[7]));
  }
  return fmaxf(m0, m1);
}

// s = max(amax, eps) / qmax, then the UE8M0 round-up when asked: the value
// of gq_group_scale. The division goes through the reciprocal of qmax when
// the host has checked that qmax is one of the bounds the exhaustive check
// covers (all 2^32 dividends) and the dividend is in the range it proved.
template <bool kPow2, typename Params>
__device__ inline float group_scale(const Params& p, float amax) {
  const float a = amax > p.eps ? amax : p.eps;
  const float s = p.scale_by_rcp && a >= 0x1p-80f && a <= 3.40282347e38f
                      ? gq_div_by_rcp(a, p.qmax, p.qmax_rcp)
                      : gq_div_rn(a, p.qmax);
  return kPow2 ? gq_ue8m0_round_up(s) : s;
}

template <int kBytes>
struct OutVec;
template <>
struct OutVec<8> {
  __device__ static void store(void* p, const uint32_t (&b)[2]) {
    store8(p, b[0], b[1]);
  }
};
template <>
struct OutVec<4> {
  __device__ static void store(void* p, const uint32_t (&b)[1]) {
    store4(p, b[0]);
  }
};

// How x / s is computed for one group. All three give RN(x / s) where they
// are used: kMulPow2 multiplies by the exact reciprocal of a power of two
// (UE8M0; s = +Inf gives 1/s = 0), kRcp is gq_div_by_rcp inside the range
// gq_rcp_division_ok accepts, kIeee is the division itself for the rest
// (subnormal or huge s: eps near 0, custom bounds, an Inf in the group).
enum class Div { kMulPow2, kRcp, kIeee };

template <Div kDiv>
__device__ inline float divide(float x, float s, float r) {
  if constexpr (kDiv == Div::kIeee) {
    return gq_div_rn(x, s);
  } else if constexpr (kDiv == Div::kRcp) {
    return gq_div_by_rcp(x, s, r);
  } else {
    return x * r;
  }
}

// Quantizes kVec float32 values (one 16-byte input vector's worth) into
// kVec bytes at dst; r is 1/s (exact for kMulPow2, RN(1/s) for kRcp, unused
// for kIeee). The fused kernel calls it on y; the plain ones through
// quantize_vector.
template <QuantFormat kOut, Div kDiv, int kVec, bool kClamp, bool kAlt>
__device__ inline void quantize_values(float (&f)[kVec], float s, float r,
                                       float qmin, float qmax, void* dst) {
#pragma unroll
  for (int e = 0; e < kVec; ++e) {
    f[e] = divide<kDiv>(f[e], s, r);
    if constexpr (kClamp) f[e] = gq_clamp_keep_nan(f[e], qmin, qmax);
  }
  uint32_t packed[kVec / 4];
#pragma unroll
  for (int w = 0; w < kVec / 4; ++w) {
    packed[w] = encode_pair<kOut, kAlt>(f[4 * w], f[4 * w + 1]) |
                (encode_pair<kOut, kAlt>(f[4 * w + 2], f[4 * w + 3]) << 16);
  }
  OutVec<kVec>::store(dst, packed);
}

// Quantizes one 16-byte input vector.
template <InputFormat kIn, QuantFormat kOut, Div kDiv, bool kClamp, bool kAlt>
__device__ inline void quantize_vector(const uint4& raw, float s, float r,
                                       float qmin, float qmax, void* dst) {
  constexpr int kVec = 16 / Input<kIn>::kBytes;
  float f[kVec];
  Input<kIn>::unpack(raw, f);
  quantize_values<kOut, kDiv, kVec, kClamp, kAlt>(f, s, r, qmin, qmax, dst);
}

// The group's division, chosen once per group (uniform over the group's
// lanes): multiply by the exact reciprocal of a power of two (UE8M0),
// gq_div_by_rcp where s allows it, else the IEEE division. Calls
// body(Div tag, r) with r as divide() takes it; the plain and the fused
// kernels both quantize through it.
template <bool kPow2, typename Body>
__device__ inline void with_group_division(float s, Body&& body) {
  if constexpr (kPow2) {
    body(std::integral_constant<Div, Div::kMulPow2>{}, pow2_reciprocal(s));
  } else if (gq_rcp_division_ok(s)) {
    body(std::integral_constant<Div, Div::kRcp>{}, gq_rcp_rn(s));
  } else {
    body(std::integral_constant<Div, Div::kIeee>{}, 0.f);
  }
}

// Quantizes a lane's kNV vectors of one group with scale s into dst,
// dst + step, ...
template <InputFormat kIn, QuantFormat kOut, int kNV, bool kPow2, bool kClamp,
          bool kAlt>
__device__ inline void quantize_group(const uint4 (&raw)[kNV], float s,
                                      float qmin, float qmax, char* dst,
                                      int step) {
  with_group_division<kPow2>(s, [&](auto div, float r) {
    constexpr Div kDiv = decltype(div)::value;
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      quantize_vector<kIn, kOut, kDiv, kClamp, kAlt>(raw[v], s, r, qmin, qmax,
                                                     dst + v * step);
    }
  });
}

// Packed UE8M0 scales, one group per item: `group` is the group's place in
// the padded row of words; the caller's one lane writes the group's byte of
// the little-endian word, zero where !valid (padding rows and groups past
// the row's end). Distinct bytes of a word come from different sub-groups,
// which the memory model allows without a race. Index: the caller's
// offset width (32-bit in the small kernels).
template <typename Index>
__device__ inline void store_packed_byte(void* s, Index row, Index group,
                                         Index col_stride, bool valid,
                                         float scale) {
  const Index word = row + (group >> 2) * col_stride;
  static_cast<uint8_t*>(s)[word * 4 + (group & 3)] =
      valid ? static_cast<uint8_t>(gq_ue8m0_byte(scale)) : uint8_t{0};
}

// Writes the scale(s) of an item. Strided: group j's float goes out from lane
// j mod lanes, so up to four lanes store at once. Packed: lane 0 writes the
// word, zero for padding rows and for groups past the end of the row.
template <int kMaxChunk>
__device__ inline void write_scales(const KernelParams& p, bool active,
                                    bool has_data, int lane, int64_t row,
                                    int64_t chunk_index, int64_t g0,
                                    const float (&s)[kMaxChunk],
                                    const bool (&valid)[kMaxChunk]) {
  // Packed items hold the 4 groups of a word (kMaxChunk == kChunk) or, in a
  // one-group plan, one group, chunk_index being its place in the padded
  // row of words.
  if (kMaxChunk == 1 && p.packed) {
    if (active && lane == 0) {
      store_packed_byte<int64_t>(p.s, row, chunk_index, p.packed_col_stride,
                                 has_data && valid[0], s[0]);
    }
  } else if (kMaxChunk == kChunk && p.packed) {
    uint32_t word = 0;
#pragma unroll
    for (int j = 0; j < kMaxChunk; ++j) {
      if (valid[j]) word |= static_cast<uint32_t>(gq_ue8m0_byte(s[j])) << (8 * j);
    }
    if (active && lane == 0) {
      static_cast<int32_t*>(p.s)[row + chunk_index * p.packed_col_stride] =
          static_cast<int32_t>(has_data ? word : 0u);
    }
  } else {
#pragma unroll
    for (int j = 0; j < kMaxChunk; ++j) {
      if (valid[j] && lane == (j & (p.lanes - 1))) {
        static_cast<float*>(p.s)[row * p.s_row_stride +
                                 (g0 + j) * p.s_group_stride] = s[j];
      }
    }
  }
}

// ---- fast path: 16-byte vectors held in registers ------------------------
//
// Preconditions (checked by the dispatcher): x 16-byte aligned with a row
// stride of whole 16-byte vectors, G * in_bytes a multiple of 16, q aligned to
// the output vector (16 / in_bytes bytes) in every row, and G * in_bytes / 16
// = lanes * kNV. Lane l of the sub-group loads vectors l, l + lanes, ... of
// each group, so each load instruction reads whole 32-byte sectors.
//
// All loads of an item (kChunk * kNV per lane, 64 bytes with kNV = 1) are
// issued before the first use. (Double-buffering the next item's loads in
// registers was tried and measured 7-12% slower on H100: the extra registers
// cost a resident block per SM, and the kernel is limited by instructions
// and occupancy rather than by bytes in flight.)

// Where one item lives; every field is computed by every lane (inactive ones
// get harmless values) so the warp stays converged for the shuffles.
template <int kMaxChunk>
struct ItemPos {
  int64_t row;
  int64_t chunk_index;
  int64_t g0;
  bool active;
  bool has_data;
  bool valid[kMaxChunk];
};

template <int kMaxChunk>
__device__ inline ItemPos<kMaxChunk> locate(const KernelParams& p,
                                            int64_t item) {
  ItemPos<kMaxChunk> pos;
  pos.active = item < p.items;
  pos.row = 0;
  pos.chunk_index = 0;
  if (pos.active) split_item(p, item, pos.row, pos.chunk_index);
  pos.has_data = pos.active && pos.row < p.m;
  pos.g0 = pos.chunk_index * p.chunk;
#pragma unroll
  for (int j = 0; j < kMaxChunk; ++j) {
    pos.valid[j] = pos.has_data && j < p.chunk && pos.g0 + j < p.gpr;
  }
  return pos;
}

template <int kBytesIn, int kNV, int kMaxChunk>
__device__ inline void load_item(const KernelParams& p,
                                 const ItemPos<kMaxChunk>& pos, int lane,
                                 uint4 (&raw)[kMaxChunk][kNV]) {
  const int64_t group_bytes = p.group_size * kBytesIn;
  const char* xg = static_cast<const char*>(p.x) +
                   ((pos.has_data ? pos.row : 0) * p.x_row_stride +
                    pos.g0 * p.group_size) * kBytesIn +
                   lane * 16;
#pragma unroll
  for (int j = 0; j < kMaxChunk; ++j) {
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      raw[j][v] = pos.valid[j]
                      ? load16(xg + j * group_bytes + v * p.lanes * 16)
                      : make_uint4(0u, 0u, 0u, 0u);
    }
  }
}

template <InputFormat kIn, QuantFormat kOut, int kNV, int kMaxChunk,
          bool kPow2, bool kClamp, bool kAlt>
__device__ inline void process_item(const KernelParams& p,
                                    const ItemPos<kMaxChunk>& pos, int lane,
                                    const uint4 (&raw)[kMaxChunk][kNV]) {
  using In = Input<kIn>;
  constexpr int kVec = 16 / In::kBytes;
  const int lanes = p.lanes;
  float s[kMaxChunk];
#pragma unroll
  for (int j = 0; j < kMaxChunk; ++j) {
    s[j] = 0.f;
    // Groups past the launch's chunk size are skipped as a whole (p.chunk is
    // uniform, so the shuffles stay warp-converged).
    if (j >= p.chunk) continue;
    float a = 0.f;
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      float f[kVec];
      In::unpack(raw[j][v], f);
      a = fmaxf(a, abs_max_tree(f));
    }
    a = group_max(a, lanes);
    s[j] = group_scale<kPow2>(p, a);
  }

  char* qg = static_cast<char*>(p.q) +
             (pos.has_data ? pos.row : 0) * p.q_row_stride +
             pos.g0 * p.group_size + lane * kVec;
#pragma unroll
  for (int j = 0; j < kMaxChunk; ++j) {
    if (!pos.valid[j]) continue;
    quantize_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
        raw[j], s[j], p.qmin, p.qmax, qg + j * p.group_size, lanes * kVec);
  }
  write_scales<kMaxChunk>(p, pos.active, pos.has_data, lane, pos.row,
                          pos.chunk_index, pos.g0, s, pos.valid);
}

// The fast kernel: one grid-stride loop over items. Its template arguments
// are every per-launch choice that changes the inner loop (picked on the host
// by quant_launch.cuh), so that the kernel holds a single loop body.
// kMaxChunk = 1 is the small-problem kernel: one group per item, and only
// that group's code, which is what a 1-row call runs through cold.
template <InputFormat kIn, QuantFormat kOut, int kNV, int kMaxChunk,
          bool kPow2, bool kClamp, bool kAlt>
__global__ void __launch_bounds__(kBlockThreads)
    quant_vec_kernel(const KernelParams p) {
  constexpr int kBytesIn = Input<kIn>::kBytes;
  const int lane = threadIdx.x & (p.lanes - 1);
  const int64_t thread =
      static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  // The loop counter is derived from the warp's first thread so that it is
  // warp-uniform: every lane stays in the shuffles even when the sub-groups
  // of the last iteration run out of items.
  const int64_t warp_first = thread & ~static_cast<int64_t>(kWarpSize - 1);
  const int sub_in_warp = (threadIdx.x & (kWarpSize - 1)) >> p.lanes_log2;
  const int64_t sub_stride =
      (static_cast<int64_t>(gridDim.x) * kBlockThreads) >> p.lanes_log2;

  for (int64_t base = warp_first >> p.lanes_log2; base < p.items;
       base += sub_stride) {
    const ItemPos<kMaxChunk> pos = locate<kMaxChunk>(p, base + sub_in_warp);
    uint4 raw[kMaxChunk][kNV];
    load_item<kBytesIn>(p, pos, lane, raw);
    process_item<kIn, kOut, kNV, kMaxChunk, kPow2, kClamp, kAlt>(p, pos, lane,
                                                                 raw);
  }
}

// ---- small problems: the same item code, nothing else on the chain -------
//
// At M <= a few hundred rows each warp runs one item on a nearly idle GPU, so
// a call costs its dependent instruction chain (ncu at M = 1: about 10 cycles
// per issued instruction, the load issued only after ~150 instructions of
// grid-stride set-up and 64-bit index arithmetic). This kernel computes the
// same bytes as quant_vec_kernel with one vector per lane, minus what small
// problems never need: no grid-stride loop (one item per sub-group; the host
// launches one sub-group per item), 32-bit offsets (the host checks that
// every byte offset of the call fits), and a parameter block of 32-bit
// fields. kGroups is the item's group count: 1 for the strided layouts and
// the packed byte grid, the 4 groups of one UE8M0 word for the packed word
// grid. kNV is the 16-byte vectors per lane of a one-group item: 1 for the
// small problems this kernel was made for, 2 for the large ones on memory
// that needs more bytes in flight per lane (launch_plan.h, flat_large_plans).
struct SmallParams {
  const void* x;
  void* q;
  void* s;
  uint32_t items;             // rows * chunks_per_row (packed: padded rows)
  FastDivU32 chunk_div;       // item -> (row, chunk)
  uint32_t m;                 // rows of data; packed rows beyond are padding
  uint32_t gpr;               // groups per row
  uint32_t x_row_bytes;       // x's row stride in bytes
  uint32_t x_group_bytes;     // G * in_bytes
  uint32_t q_row_stride;      // bytes
  uint32_t group_size;        // G: q bytes per group
  uint32_t s_row_stride;      // strided layouts, float words
  uint32_t s_group_stride;
  uint32_t packed_col_stride;  // packed layout, int32 words
  int32_t lanes_log2;
  float eps;
  float qmin;
  float qmax;
  float qmax_rcp;
  bool scale_by_rcp;
};

// The thread's place in a small kernel's launch: its sub-group's item as
// (row, chunk). A sub-group is wholly in or out of range; the lanes out of
// range still take part in the shuffles (on item 0's data) and store
// nothing. data_row: the row to read, 0 for padding rows and inactive lanes.
struct SmallItem {
  uint32_t lanes;
  uint32_t lane;
  bool active;
  uint32_t row;
  uint32_t chunk;
  bool has_data;
  uint32_t data_row;
};

// kWordColumns: the packed byte grid's items in (word column, row, byte)
// order, so that the words of one column, consecutive in memory, come from
// consecutive sub-groups; chunk_div then divides by the padded rows
// (launch_plan.h, packed_word_columns).
template <bool kWordColumns = false>
__device__ inline SmallItem small_item(const SmallParams& p) {
  SmallItem it;
  const uint32_t t = blockIdx.x * kBlockThreads + threadIdx.x;
  it.lanes = 1u << p.lanes_log2;
  it.lane = t & (it.lanes - 1);
  const uint32_t sub = t >> p.lanes_log2;
  it.active = sub < p.items;
  const uint32_t item = it.active ? sub : 0u;
  if constexpr (kWordColumns) {
    uint32_t column;
    p.chunk_div.divmod(item >> 2, column, it.row);
    it.chunk = column * 4u + (item & 3u);
  } else {
    p.chunk_div.divmod(item, it.row, it.chunk);
  }
  it.has_data = it.active && it.row < p.m;
  it.data_row = it.has_data ? it.row : 0u;
  return it;
}

// The scale store of a small kernel's one-group item, by lane 0: its byte
// of the packed UE8M0 word (chunk = the group's place in the padded row of
// words; padding rows and groups past the row's end store a zero byte), or
// its float. Shared by quant_small_kernel and fused_small_kernel.
template <bool kPackedByte>
__device__ inline void store_small_scale(const SmallParams& p,
                                         const SmallItem& it, bool valid,
                                         float s) {
  if (it.lane != 0) return;
  if constexpr (kPackedByte) {
    if (it.active) {
      store_packed_byte<uint32_t>(p.s, it.row, it.chunk, p.packed_col_stride,
                                  valid, s);
    }
  } else {
    if (valid) {
      static_cast<float*>(p.s)[it.row * p.s_row_stride +
                               it.chunk * p.s_group_stride] = s;
    }
  }
}

// The largest |value| of a lane's kNV vectors of one group (NaN ignored, as
// abs_max_tree), before the group's shuffles.
template <InputFormat kIn, int kNV>
__device__ inline float lane_abs_max(const uint4 (&raw)[kNV]) {
  float a = 0.f;
#pragma unroll
  for (int v = 0; v < kNV; ++v) {
    float f[16 / Input<kIn>::kBytes];
    Input<kIn>::unpack(raw[v], f);
    a = v == 0 ? abs_max_tree(f) : fmaxf(a, abs_max_tree(f));
  }
  return a;
}

template <InputFormat kIn, QuantFormat kOut, int kNV, int kGroups, bool kPow2,
          bool kClamp, bool kAlt, bool kPackedByte = false,
          bool kWordColumns = false>
__global__ void __launch_bounds__(kBlockThreads)
    quant_small_kernel(const SmallParams p) {
  static_assert(kNV == 1 || kGroups == 1,
                "a packed word's four groups take one vector per lane");
  static_assert(!kWordColumns || kPackedByte, "word columns: the byte grid");
  using In = Input<kIn>;
  constexpr int kVec = 16 / In::kBytes;
  const SmallItem it = small_item<kWordColumns>(p);
  const uint32_t lanes = it.lanes, lane = it.lane, row = it.row,
                 chunk = it.chunk, data_row = it.data_row;
  const bool active = it.active, has_data = it.has_data;
  const uint32_t g0 = chunk * kGroups;
  const char* xg = static_cast<const char*>(p.x) + data_row * p.x_row_bytes +
                   g0 * p.x_group_bytes + lane * 16u;
  // Lane l holds vectors l, l + lanes, ... of its group (whole 32-byte
  // sectors per load instruction, as in quant_vec_kernel).
  uint4 raw[kGroups][kNV];
  bool valid[kGroups];
#pragma unroll
  for (int j = 0; j < kGroups; ++j) {
    valid[j] = has_data && g0 + j < p.gpr;
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      raw[j][v] = valid[j] ? load16(xg + j * p.x_group_bytes + v * lanes * 16u)
                           : make_uint4(0u, 0u, 0u, 0u);
    }
  }
  float s[kGroups];
#pragma unroll
  for (int j = 0; j < kGroups; ++j) {
    s[j] = group_scale<kPow2>(p, group_max(lane_abs_max<kIn>(raw[j]), lanes));
  }
  char* qg = static_cast<char*>(p.q) + data_row * p.q_row_stride +
             g0 * p.group_size + lane * kVec;
#pragma unroll
  for (int j = 0; j < kGroups; ++j) {
    if (!valid[j]) continue;
    quantize_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
        raw[j], s[j], p.qmin, p.qmax, qg + j * p.group_size, lanes * kVec);
  }
  if constexpr (kPackedByte) {
    static_assert(kGroups == 1 && kPow2, "a byte per one-group item");
    store_small_scale<true>(p, it, valid[0], s[0]);
  } else if constexpr (kGroups == kChunk) {
    // Packed: lane 0 writes the word; padding rows and groups past the row's
    // end give zero bytes.
    uint32_t word = 0;
#pragma unroll
    for (int j = 0; j < kGroups; ++j) {
      if (valid[j]) word |= static_cast<uint32_t>(gq_ue8m0_byte(s[j])) << (8 * j);
    }
    if (active && lane == 0) {
      static_cast<int32_t*>(p.s)[row + chunk * p.packed_col_stride] =
          static_cast<int32_t>(word);
    }
  } else {
    static_assert(kGroups == 1, "strided items are one group");
    store_small_scale<false>(p, it, valid[0], s[0]);
  }
}

// ---- generic path: any alignment, any group size --------------------------
//
// Scalar loads, two passes over each group (the second is served by L1/L2).
// Correct for every problem validation accepts; used when the fast path's
// preconditions fail. 16 lanes per group, `chunk` groups per item.
template <InputFormat kIn, QuantFormat kOut>
__global__ void __launch_bounds__(kBlockThreads)
    quant_generic_kernel(const KernelParams p) {
  using In = Input<kIn>;
  constexpr int kLanes = kGenericLanes;
  const int lane = threadIdx.x & (kLanes - 1);
  const int64_t thread =
      static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  const int64_t warp_first = thread & ~static_cast<int64_t>(kWarpSize - 1);
  const int sub_in_warp = (threadIdx.x & (kWarpSize - 1)) / kLanes;
  const int64_t sub_stride =
      (static_cast<int64_t>(gridDim.x) * kBlockThreads) / kLanes;
  const int64_t G = p.group_size;

  for (int64_t base = warp_first / kLanes; base < p.items;
       base += sub_stride) {
    const int64_t item = base + sub_in_warp;
    const bool active = item < p.items;
    int64_t row = 0, chunk_index = 0;
    if (active) split_item(p, item, row, chunk_index);
    const bool has_data = active && row < p.m;
    const int64_t g0 = chunk_index * p.chunk;
    const int64_t r = has_data ? row : 0;
    const void* xrow =
        static_cast<const char*>(p.x) + r * p.x_row_stride * In::kBytes;
    uint8_t* qrow = static_cast<uint8_t*>(p.q) + r * p.q_row_stride;

    bool valid[kChunk];
    float s[kChunk];
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      valid[j] = has_data && j < p.chunk && g0 + j < p.gpr;
      const int64_t first = (g0 + j) * G;
      float a = 0.f;
      if (valid[j]) {
        for (int64_t e = lane; e < G; e += kLanes) {
          a = gq_abs_max_step(a, In::load(xrow, first + e));
        }
      }
      a = group_max(a, kLanes);
      s[j] = p.ue8m0 ? group_scale<true>(p, a) : group_scale<false>(p, a);
      if (valid[j]) {
        const float inv = gq_div_rn(1.f, s[j]);
        for (int64_t e = lane; e < G; e += kLanes) {
          const float x = In::load(xrow, first + e);
          const float y = p.ue8m0 ? x * inv : gq_div_rn(x, s[j]);
          qrow[first + e] = static_cast<uint8_t>(
              encode_one<kOut>(gq_clamp_keep_nan(y, p.qmin, p.qmax)));
        }
      }
    }

    write_scales<kChunk>(p, active, has_data, lane, row, chunk_index, g0, s,
                         valid);
  }
}

}  // namespace gpu
}  // namespace groupquant
