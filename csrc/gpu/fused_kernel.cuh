// The fused SiLU*mul and masked-MoE kernels (docs/fused_silu_moe.md), shared
// by CUDA and HIP like quant_kernel.cuh, whose helpers they reuse: the input
// unpacking, the group maximum, the scale, the encoders and the scale
// writer are the plain kernel's own, so the quantization of y is the same
// code; the plain kernels themselves are untouched by this file.
//
// Decomposition as in quant_kernel.cuh, with one more level: an item is
// (expert, row, chunk of up to kChunk groups); unmasked problems are one
// expert. A sub-group of `lanes` lanes owns an item. With fuse_silu_and_mul
// every lane loads the gate vector and the up vector H elements further,
// forms y = gq_silu_mul(gate, up) in registers, and from then on does what
// the plain kernel does with its unpacked input. Masked rows (row >= clamp(
// masked_m[e], 0, T), read here on the device) are skipped: no load, no
// store, which also leaves the packed padding rows of a masked call alone.
#pragma once

#include <cstdint>

#include "csrc/gpu/portability.h"
#include "csrc/gpu/quant_kernel.cuh"
#include "csrc/quant_math.h"

namespace groupquant {
namespace gpu {

struct FusedParams {
  // One expert's problem: m = T rows of data (M unmasked), rows iterated
  // (round_up(M, 4) unmasked packed, else T), and items = experts *
  // items_per_expert. s, x and q point at expert 0.
  KernelParams k;
  const int32_t* masked_m;  // null: not masked
  int64_t items_per_expert;  // rows * chunks_per_row
  int64_t x_expert_stride;   // elements
  int64_t q_expert_stride;   // bytes
  int64_t s_expert_stride;   // float / int32 words
  int64_t up_offset;         // elements from gate to up (H), 0 unfused
};

// Where an item lives. `writes`: the item stores its scale word/floats (a
// valid row, or an unmasked packed padding row, which is written as 0).
struct FusedPos {
  int64_t expert;
  int64_t row;
  int64_t chunk_index;
  int64_t g0;
  bool writes;
  bool has_data;
  bool valid[kChunk];
};

__device__ inline int64_t clamped_rows(const FusedParams& fp, int64_t expert) {
  if (fp.masked_m == nullptr) return fp.k.m;
  const int64_t v = fp.masked_m[expert];
  return v < 0 ? 0 : (v > fp.k.m ? fp.k.m : v);
}

__device__ inline FusedPos fused_locate(const FusedParams& fp, int64_t item) {
  const KernelParams& p = fp.k;
  FusedPos pos;
  const bool active = item < p.items;
  pos.expert = 0;
  pos.row = 0;
  pos.chunk_index = 0;
  if (active) {
    if (p.narrow_items) {
      // 32-bit divisions are a few instructions; 64-bit ones are calls.
      const uint32_t it = static_cast<uint32_t>(item);
      const uint32_t per = static_cast<uint32_t>(fp.items_per_expert);
      const uint32_t cpr = static_cast<uint32_t>(p.chunks_per_row);
      const uint32_t e = it / per;
      const uint32_t rem = it - e * per;
      const uint32_t r = rem / cpr;
      pos.expert = e;
      pos.row = r;
      pos.chunk_index = rem - r * cpr;
    } else {
      pos.expert = item / fp.items_per_expert;
      const int64_t rem = item - pos.expert * fp.items_per_expert;
      pos.row = rem / p.chunks_per_row;
      pos.chunk_index = rem - pos.row * p.chunks_per_row;
    }
  }
  const int64_t valid_rows = active ? clamped_rows(fp, pos.expert) : 0;
  pos.has_data = active && pos.row < valid_rows;
  // Unmasked packed: rows [m, rows) are the padding, written as zeros.
  pos.writes = pos.has_data || (active && fp.masked_m == nullptr);
  pos.g0 = pos.chunk_index * p.chunk;
#pragma unroll
  for (int j = 0; j < kChunk; ++j) {
    pos.valid[j] = pos.has_data && j < p.chunk && pos.g0 + j < p.gpr;
  }
  return pos;
}

// The expert's view of the scale buffer, for write_scales.
__device__ inline KernelParams expert_scales(const FusedParams& fp,
                                             int64_t expert) {
  KernelParams pe = fp.k;
  pe.s = static_cast<char*>(fp.k.s) + expert * fp.s_expert_stride * 4;
  return pe;
}

// quantize_vector's second half, on values already in float32 (y).
template <QuantFormat kOut, bool kPow2, int kVec>
__device__ inline void quantize_values(float (&f)[kVec], float s, float inv,
                                       float qmin, float qmax, void* dst) {
#pragma unroll
  for (int e = 0; e < kVec; ++e) {
    f[e] = gq_clamp_keep_nan(scale_div<kPow2>(f[e], s, inv), qmin, qmax);
  }
  uint32_t packed[kVec / 4];
#pragma unroll
  for (int w = 0; w < kVec / 4; ++w) {
    packed[w] = encode_pair<kOut, false>(f[4 * w], f[4 * w + 1]) |
                (encode_pair<kOut, false>(f[4 * w + 2], f[4 * w + 3]) << 16);
  }
  OutVec<kVec>::store(dst, packed);
}

// ---- fast path: the plain kernel's vector preconditions, per expert -----

template <InputFormat kIn, QuantFormat kOut, int kNV, bool kFused, bool kPow2>
__device__ inline void fused_vec_body(const FusedParams& fp) {
  using In = Input<kIn>;
  constexpr int kBytesIn = In::kBytes;
  constexpr int kVec = 16 / kBytesIn;
  const KernelParams& p = fp.k;
  const int lanes = p.lanes;
  const int lane = threadIdx.x & (lanes - 1);
  const int64_t thread =
      static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  const int64_t warp_first = thread & ~static_cast<int64_t>(kWarpSize - 1);
  const int sub_in_warp = (threadIdx.x & (kWarpSize - 1)) >> p.lanes_log2;
  const int64_t sub_stride =
      (static_cast<int64_t>(gridDim.x) * kBlockThreads) >> p.lanes_log2;
  const int64_t group_bytes = p.group_size * kBytesIn;

  for (int64_t base = warp_first >> p.lanes_log2; base < p.items;
       base += sub_stride) {
    const FusedPos pos = fused_locate(fp, base + sub_in_warp);
    const int64_t e = pos.has_data ? pos.expert : 0;
    const int64_t r = pos.has_data ? pos.row : 0;
    const char* xg = static_cast<const char*>(p.x) +
                     (e * fp.x_expert_stride + r * p.x_row_stride +
                      pos.g0 * p.group_size) * kBytesIn +
                     lane * 16;
    uint4 gate[kChunk][kNV];
    uint4 up[kChunk][kNV];
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
#pragma unroll
      for (int v = 0; v < kNV; ++v) {
        const char* at = xg + j * group_bytes + v * lanes * 16;
        gate[j][v] = pos.valid[j] ? load16(at) : make_uint4(0u, 0u, 0u, 0u);
        if constexpr (kFused) {
          up[j][v] = pos.valid[j] ? load16(at + fp.up_offset * kBytesIn)
                                  : make_uint4(0u, 0u, 0u, 0u);
        }
      }
    }

    float y[kChunk][kNV][kVec];
    float s[kChunk];
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      s[j] = 0.f;
      if (j >= p.chunk) continue;  // uniform: shuffles stay converged
      float a = 0.f;
#pragma unroll
      for (int v = 0; v < kNV; ++v) {
        In::unpack(gate[j][v], y[j][v]);
        if constexpr (kFused) {
          float u[kVec];
          In::unpack(up[j][v], u);
#pragma unroll
          for (int i = 0; i < kVec; ++i) y[j][v][i] = gq_silu_mul(y[j][v][i], u[i]);
        }
        a = fmaxf(a, abs_max_tree(y[j][v]));
      }
      a = group_max(a, lanes);
      s[j] = gq_group_scale(a, p.eps, p.qmax, kPow2);
    }

    char* qg = static_cast<char*>(p.q) + e * fp.q_expert_stride +
               r * p.q_row_stride + pos.g0 * p.group_size + lane * kVec;
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      if (!pos.valid[j]) continue;
      const float inv = kPow2 ? pow2_reciprocal(s[j]) : 0.f;
#pragma unroll
      for (int v = 0; v < kNV; ++v) {
        quantize_values<kOut, kPow2>(y[j][v], s[j], inv, p.qmin, p.qmax,
                                     qg + j * p.group_size + v * lanes * kVec);
      }
    }
    write_scales(expert_scales(fp, pos.expert), pos.writes, pos.has_data,
                 lane, pos.row, pos.chunk_index, pos.g0, s, pos.valid);
  }
}

template <InputFormat kIn, QuantFormat kOut, int kNV, bool kFused>
__global__ void __launch_bounds__(kBlockThreads)
    fused_vec_kernel(const FusedParams fp) {
  if (fp.k.ue8m0) {
    fused_vec_body<kIn, kOut, kNV, kFused, true>(fp);
  } else {
    fused_vec_body<kIn, kOut, kNV, kFused, false>(fp);
  }
}

// ---- generic path: any alignment, any group size --------------------------
//
// Scalar loads, two passes over each group (the second from L1/L2); y is
// recomputed in the second pass, bit-identically (same code, same inputs).

template <InputFormat kIn, bool kFused>
__device__ inline float fused_value(const FusedParams& fp, const void* xrow,
                                    int64_t i) {
  using In = Input<kIn>;
  const float g = In::load(xrow, i);
  if constexpr (kFused) {
    return gq_silu_mul(g, In::load(xrow, i + fp.up_offset));
  } else {
    return g;
  }
}

template <InputFormat kIn, QuantFormat kOut, bool kFused>
__global__ void __launch_bounds__(kBlockThreads)
    fused_generic_kernel(const FusedParams fp) {
  using In = Input<kIn>;
  constexpr int kLanes = kGenericLanes;
  const KernelParams& p = fp.k;
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
    const FusedPos pos = fused_locate(fp, base + sub_in_warp);
    const int64_t e = pos.has_data ? pos.expert : 0;
    const int64_t r = pos.has_data ? pos.row : 0;
    const void* xrow = static_cast<const char*>(p.x) +
                       (e * fp.x_expert_stride + r * p.x_row_stride) * In::kBytes;
    uint8_t* qrow = static_cast<uint8_t*>(p.q) + e * fp.q_expert_stride +
                    r * p.q_row_stride;
    float s[kChunk];
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      const int64_t first = (pos.g0 + j) * G;
      float a = 0.f;
      if (pos.valid[j]) {
        for (int64_t i = lane; i < G; i += kLanes) {
          a = gq_abs_max_step(a, fused_value<kIn, kFused>(fp, xrow, first + i));
        }
      }
      a = group_max(a, kLanes);
      s[j] = gq_group_scale(a, p.eps, p.qmax, p.ue8m0);
      if (pos.valid[j]) {
        for (int64_t i = lane; i < G; i += kLanes) {
          const float y = fused_value<kIn, kFused>(fp, xrow, first + i);
          qrow[first + i] = static_cast<uint8_t>(encode_one<kOut>(
              gq_clamp_keep_nan(gq_div_rn(y, s[j]), p.qmin, p.qmax)));
        }
      }
    }
    write_scales(expert_scales(fp, pos.expert), pos.writes, pos.has_data,
                 lane, pos.row, pos.chunk_index, pos.g0, s, pos.valid);
  }
}

}  // namespace gpu
}  // namespace groupquant
