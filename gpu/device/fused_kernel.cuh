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

#include "gpu/device/portability.h"
#include "gpu/device/quant_kernel.cuh"
#include "gpu/device/silu_division.cuh"
#include "csrc/quant_math.h"

namespace groupquant {
namespace gpu {

struct FusedParams {
  // One expert's problem as the plain kernels see it (m = T rows of data, M
  // unmasked) except items = experts * items_per_expert; x, q and s point at
  // expert 0. k.chunk_div splits an expert's item into (row, chunk).
  KernelParams k;
  const int32_t* masked_m;  // null: not masked
  int64_t items_per_expert;  // rows * chunks_per_row (rows: round_up(M, 4)
                             // unmasked packed, else m)
  FastDivU32 expert_div;     // by items_per_expert (narrow_items only)
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
      // Multiply-shift divisions (fast_divmod.h), as the plain kernel's.
      uint32_t e, rem, r, c;
      fp.expert_div.divmod(static_cast<uint32_t>(item), e, rem);
      p.chunk_div.divmod(rem, r, c);
      pos.expert = e;
      pos.row = r;
      pos.chunk_index = c;
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

// The grid-stride position to continue from once a warp found none of its
// items writes (so base's item, the warp's first, is a masked row or past
// the end). An expert's masked rows are its last ones, so every item from
// base to the end of base's expert is masked too: the warp skips the
// iterations whose whole item range [b, b + subs) lies before the next
// expert's first item instead of visiting each. b keeps base's residue
// modulo the stride, so every item is still visited by the sub-group that
// would have visited it. Only one_wave plans (launch_plan.h) loop.
__device__ inline int64_t skip_masked_rows(const FusedParams& fp, int64_t base,
                                           int64_t stride, int64_t subs) {
  if (fp.masked_m == nullptr || base >= fp.k.items) return base;
  const int64_t expert =
      fp.k.narrow_items
          ? static_cast<int64_t>(fp.expert_div.div(static_cast<uint32_t>(base)))
          : base / fp.items_per_expert;
  const int64_t room = (expert + 1) * fp.items_per_expert - subs - base;
  return room < stride ? base : base + (room / stride) * stride;
}

// ---- fast path: the plain kernel's vector preconditions, per expert -----

// The expert's base pointers in a copy of the plain kernel's parameters, and
// the item as the plain kernel's ItemPos: what load_item / process_item and
// write_scales take.
__device__ inline KernelParams expert_view(const FusedParams& fp,
                                           int64_t expert, int in_bytes) {
  KernelParams pe = fp.k;
  pe.x = static_cast<const char*>(fp.k.x) +
         expert * fp.x_expert_stride * in_bytes;
  pe.q = static_cast<char*>(fp.k.q) + expert * fp.q_expert_stride;
  pe.s = static_cast<char*>(fp.k.s) + expert * fp.s_expert_stride * 4;
  return pe;
}

template <int kMaxChunk>
__device__ inline ItemPos<kMaxChunk> as_item(const FusedPos& f) {
  ItemPos<kMaxChunk> pos;
  pos.row = f.row;
  pos.chunk_index = f.chunk_index;
  pos.g0 = f.g0;
  pos.active = f.writes;
  pos.has_data = f.has_data;
#pragma unroll
  for (int j = 0; j < kMaxChunk; ++j) pos.valid[j] = f.valid[j];
  return pos;
}

// One group of y: unpack gate and up, y = gq_silu_mul, the group maximum,
// the scale, then the plain kernel's exact division and encoders. Groups
// are done one at a time to keep 2 x 8 values live per lane, not 4 x that.
// Params: KernelParams or SmallParams (group_scale's fields); lanes: the
// sub-group's lane count; Vec: uint4, or uint2 for fused_small_kernel's half
// vectors (a lane's q bytes at dst + v * lanes * kVec either way).
template <InputFormat kIn, QuantFormat kOut, int kNV, bool kPow2, bool kClamp,
          bool kAlt, typename Params, typename Vec>
__device__ inline float fused_group(const Params& p, int lanes, bool in_chunk,
                                    bool valid, const Vec (&gate)[kNV],
                                    const Vec (&up)[kNV], char* dst) {
  using In = Input<kIn>;
  constexpr int kVec = static_cast<int>(sizeof(Vec)) / In::kBytes;
  if (!in_chunk) return 0.f;  // uniform: shuffles stay converged
  float y[kNV][kVec];
  bool quick = kSiluQuickDivision;
#pragma unroll
  for (int v = 0; v < kNV; ++v) {
    In::unpack(gate[v], y[v]);
    if constexpr (kSiluQuickDivision) {
#pragma unroll
      for (int i = 0; i < kVec; ++i) quick &= silu_quick_ok(y[v][i]);
    }
  }
  float a = 0.f;
  const auto apply = [&](auto div, auto exp) {
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      float u[kVec];
      In::unpack(up[v], u);
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        y[v][i] = gq_silu_mul_by(y[v][i], u[i], div, exp);
      }
      a = fmaxf(a, abs_max_tree(y[v]));
    }
  };
  // The division choice is per warp (silu_division.cuh): a warp holding any
  // gate outside the quick range runs the wide division on every lane
  // rather than both paths (per lane, the bench's heavy channels made 5%
  // of the warp-group steps at 16384 x 7168 run both).
  const auto exp_any = [](float x) { return gq_exp(x); };
  if constexpr (!kSiluQuickDivision) {
    apply([](float g, float d) { return gq_div_rn(g, d); }, exp_any);
  } else if (warp_all(quick)) {
    apply([](float g, float d) { return silu_div_quick(g, d); },
          [](float x) { return silu_exp_quick(x); });
  } else {
    apply([](float g, float d) { return silu_div_wide(g, d); }, exp_any);
  }
  a = group_max<(sizeof(Vec) == 8 ? 32 : 16)>(a, lanes);
  const float s = group_scale<kPow2>(p, a);
  if (!valid) return s;
  const int step = lanes * kVec;
  with_group_division<kPow2>(s, [&](auto div, float r) {
    constexpr Div kDiv = decltype(div)::value;
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      quantize_values<kOut, kDiv, kVec, kClamp, kAlt>(y[v], s, r, p.qmin,
                                                      p.qmax, dst + v * step);
    }
  });
  return s;
}

// The fast fused/masked kernel. Like quant_vec_kernel, every per-launch
// choice that changes the inner loop is a template argument picked on the
// host (fused_launch.cuh), so each kernel holds one loop body. kMaxChunk is
// the most groups an item holds (the plan's chunk is at most that): the
// registers that hold an item's vectors are sized by it, so a one-group
// instance holds a quarter of the four-group one's.
template <InputFormat kIn, QuantFormat kOut, int kNV, int kMaxChunk,
          bool kFused, bool kPow2, bool kClamp, bool kAlt>
__global__ void __launch_bounds__(kBlockThreads)
    fused_vec_kernel(const FusedParams fp) {
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

  for (int64_t base = warp_first >> p.lanes_log2; base < p.items;
       base += sub_stride) {
    const FusedPos f = fused_locate(fp, base + sub_in_warp);
    // Masked rows load and store nothing, but the item code would still do
    // their arithmetic (the fused kernel is issue-bound: on the H100 a
    // masked call with half its rows valid ran at 33% of the valid bytes'
    // copy against 77% unmasked). A warp none of whose items writes skips
    // it; the test is warp-wide because the group maximum's shuffles are.
    if (!warp_any(f.writes)) {
      base = skip_masked_rows(fp, base, sub_stride, kWarpSize >> p.lanes_log2);
      continue;
    }
    const KernelParams pe =
        expert_view(fp, f.has_data ? f.expert : 0, kBytesIn);
    const ItemPos<kMaxChunk> pos = as_item<kMaxChunk>(f);
    if constexpr (!kFused) {
      // Masked, not fused: exactly the plain kernel's item code.
      uint4 raw[kMaxChunk][kNV];
      load_item<kBytesIn>(pe, pos, lane, raw);
      process_item<kIn, kOut, kNV, kMaxChunk, kPow2, kClamp, kAlt>(pe, pos,
                                                                   lane, raw);
    } else {
      uint4 gate[kMaxChunk][kNV];
      uint4 up[kMaxChunk][kNV];
      load_item<kBytesIn>(pe, pos, lane, gate);
      // The up half: the same loads H elements further.
      KernelParams pu = pe;
      pu.x = static_cast<const char*>(pe.x) + fp.up_offset * kBytesIn;
      load_item<kBytesIn>(pu, pos, lane, up);
      char* qg = static_cast<char*>(pe.q) +
                 (pos.has_data ? pos.row : 0) * pe.q_row_stride +
                 pos.g0 * pe.group_size + lane * kVec;
      float s[kMaxChunk];
#pragma unroll
      for (int j = 0; j < kMaxChunk; ++j) {
        s[j] = fused_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
            pe, lanes, j < pe.chunk, pos.valid[j], gate[j], up[j],
            qg + j * pe.group_size);
      }
      write_scales<kMaxChunk>(pe, pos.active, pos.has_data, lane, pos.row,
                   pos.chunk_index, pos.g0, s, pos.valid);
    }
  }
}

// ---- loop-free fused kernel ------------------------------------------------
//
// quant_small_kernel's shape for fuse_silu_and_mul: one sub-group per
// one-group item, no grid-stride loop, 32-bit offsets (the host checks that
// every byte offset of the call, all experts' and the up half's, fits 31
// bits), the plain small kernel's parameter block plus the fused fields.
// What a 1-row call runs through cold is then this item's code only, and a
// large call spends on each item only its two divisions by constants and
// 32-bit addresses: fused_vec_kernel's per-item walk (loop head, 64-bit
// positions, the masked-row and expert bookkeeping) was about a quarter of
// its instructions at 16384 x 7168 (docs/cuda_kernel_notes.md, Session 7),
// and the fused op is issue-bound. kNV: vectors per lane and group (two
// for large calls: half the lanes per group share each reduction and
// scale). kMasked: item = (expert, row slot, group), and the item takes
// the rows slot, slot + row_slots, ... below clamp(masked_m[e], 0, T):
// the host sizes row_slots so that the grid is a few waves, not one block
// per row of T, since which rows are valid is known only on the device and
// a block launched only to find its rows masked costs a load's latency
// (half the grid at E = 8, T = 4096, masked_m = T / 2: 73% -> 84% of the
// valid rows' copy was all the loop-free kernel gained there).
struct FusedSmallParams {
  SmallParams k;              // items: over all experts
  uint32_t up_bytes;          // H * in_bytes
  const int32_t* masked_m;    // kMasked only
  FastDivU32 expert_div;      // by items per expert (kMasked only)
  uint32_t row_slots;         // kMasked: items per expert / chunks per row
  uint32_t x_expert_bytes;
  uint32_t q_expert_bytes;
  uint32_t s_expert_words;
};

// A masked item's place: small_item's fields with row = the item's row
// slot, and the expert's base pointers moved into p. *valid_rows: the
// expert's rows to write, clamp(masked_m[e], 0, T), 0 out of range.
__device__ inline SmallItem masked_small_item(const FusedSmallParams& fp,
                                              SmallParams* p,
                                              uint32_t* valid_rows) {
  SmallItem it;
  const uint32_t t = blockIdx.x * kBlockThreads + threadIdx.x;
  it.lanes = 1u << p->lanes_log2;
  it.lane = t & (it.lanes - 1);
  const uint32_t sub = t >> p->lanes_log2;
  const bool in_range = sub < p->items;
  uint32_t expert, rem;
  fp.expert_div.divmod(in_range ? sub : 0u, expert, rem);
  p->chunk_div.divmod(rem, it.row, it.chunk);
  const int32_t v = in_range ? fp.masked_m[expert] : 0;
  *valid_rows =
      v < 0 ? 0u : (static_cast<uint32_t>(v) < p->m ? static_cast<uint32_t>(v) : p->m);
  const uint32_t e = *valid_rows > 0 ? expert : 0u;
  p->x = static_cast<const char*>(p->x) + e * fp.x_expert_bytes;
  p->q = static_cast<char*>(p->q) + e * fp.q_expert_bytes;
  p->s = static_cast<char*>(p->s) + e * fp.s_expert_words * 4u;
  return it;
}

// A lane's input vector in fused_small_kernel: 16 bytes, or 8 (half
// vectors: twice the lanes per group, each with half the elements' SiLU
// chain, for calls too small to fill the GPU with 16-byte lanes).
template <int kLaneBytes>
struct LaneVector;
template <>
struct LaneVector<16> {
  using Type = uint4;
  __device__ static Type load(const char* p) { return load16(p); }
  __device__ static Type zero() { return make_uint4(0u, 0u, 0u, 0u); }
};
template <>
struct LaneVector<8> {
  using Type = uint2;
  __device__ static Type load(const char* p) { return load8(p); }
  __device__ static Type zero() { return make_uint2(0u, 0u); }
};

// One item of fused_small_kernel: load gate and up, SiLU*mul, quantize,
// store q and the scale; without kFused (masked plain calls) load x and
// quantize it as quant_small_kernel does. Lanes without `valid` load zeros
// and store nothing but still take part in the group's shuffles.
template <InputFormat kIn, QuantFormat kOut, int kNV, bool kFused,
          bool kPackedByte, bool kPow2, bool kClamp, bool kAlt,
          int kLaneBytes = 16>
__device__ inline void fused_small_item(const FusedSmallParams& fp,
                                        const SmallParams& p,
                                        const SmallItem& it) {
  using In = Input<kIn>;
  using LV = LaneVector<kLaneBytes>;
  constexpr int kVec = kLaneBytes / In::kBytes;
  constexpr uint32_t kStep = kLaneBytes;
  const uint32_t lanes = it.lanes, lane = it.lane, chunk = it.chunk,
                 data_row = it.data_row;
  const bool valid = it.has_data && chunk < p.gpr;  // one group: g0 = chunk
  const char* xg = static_cast<const char*>(p.x) + data_row * p.x_row_bytes +
                   chunk * p.x_group_bytes + lane * kStep;
  typename LV::Type gate[kNV], up[kNV];  // without kFused, gate holds x
#pragma unroll
  for (int v = 0; v < kNV; ++v) {
    gate[v] = valid ? LV::load(xg + v * lanes * kStep) : LV::zero();
  }
  if constexpr (kFused) {
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      up[v] = valid ? LV::load(xg + fp.up_bytes + v * lanes * kStep)
                    : LV::zero();
    }
  }
  char* qg = static_cast<char*>(p.q) + data_row * p.q_row_stride +
             chunk * p.group_size + lane * kVec;
  float s;
  if constexpr (kFused) {
    s = fused_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
        p, static_cast<int>(lanes), true, valid, gate, up, qg);
  } else {
    s = group_scale<kPow2>(p, group_max(lane_abs_max<kIn>(gate), lanes));
    if (valid) {
      quantize_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
          gate, s, p.qmin, p.qmax, qg, lanes * kVec);
    }
  }
  store_small_scale<kPackedByte>(p, it, valid, s);
}

// kFused false: masked calls without the fusion (the plain op per expert),
// kMasked only.
// kLaneBytes 8: half vectors (LaneVector), unmasked fused calls only.
template <InputFormat kIn, QuantFormat kOut, int kNV, bool kMasked,
          bool kPackedByte, bool kPow2, bool kClamp, bool kAlt,
          bool kFused = true, int kLaneBytes = 16>
__global__ void __launch_bounds__(kBlockThreads)
    fused_small_kernel(const FusedSmallParams fp) {
  static_assert(kLaneBytes == 16 || (kFused && !kMasked),
                "half vectors: unmasked fused calls only");
  SmallParams p = fp.k;
  if constexpr (kMasked) {
    uint32_t valid_rows;
    SmallItem it = masked_small_item(fp, &p, &valid_rows);
    // Whole warps go round: the group maximum's shuffles span the warp, and
    // a warp straddling two slots or experts runs the longer one's rows.
    while (warp_any(it.row < valid_rows)) {
      it.active = it.row < valid_rows;
      it.has_data = it.active;
      it.data_row = it.active ? it.row : 0u;
      fused_small_item<kIn, kOut, kNV, kFused, kPackedByte, kPow2, kClamp,
                       kAlt>(fp, p, it);
      it.row += fp.row_slots;
    }
  } else {
    // Lanes out of range load zeros.
    static_assert(kFused, "unmasked plain calls take quant_small_kernel");
    fused_small_item<kIn, kOut, kNV, true, kPackedByte, kPow2, kClamp, kAlt,
                     kLaneBytes>(fp, p, small_item(p));
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
    if (!warp_any(pos.writes)) {  // as in fused_vec_kernel
      base = skip_masked_rows(fp, base, sub_stride, kWarpSize / kLanes);
      continue;
    }
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
      s[j] = p.ue8m0 ? group_scale<true>(p, a) : group_scale<false>(p, a);
      if (pos.valid[j]) {
        for (int64_t i = lane; i < G; i += kLanes) {
          const float y = fused_value<kIn, kFused>(fp, xrow, first + i);
          qrow[first + i] = static_cast<uint8_t>(encode_one<kOut>(
              gq_clamp_keep_nan(gq_div_rn(y, s[j]), p.qmin, p.qmax)));
        }
      }
    }
    write_scales<kChunk>(expert_view(fp, e, In::kBytes), pos.writes, pos.has_data,
                 lane, pos.row, pos.chunk_index, pos.g0, s, pos.valid);
  }
}

}  // namespace gpu
}  // namespace groupquant
