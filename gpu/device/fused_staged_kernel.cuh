// The fused kernel for large fused calls, its next item's input staged in
// shared memory while it computes the current one.
//
// fused_vec_kernel issues an item's loads and then waits on them: with the
// fused op's 35-odd instructions per element, a warp spends most of its
// time computing with nothing in flight, and at 60 registers only 32 warps
// per SM share the load latency. Here every warp walks a grid-stride loop
// over one resident wave and, before computing item i, copies item i +
// stride's gate and up vectors into its own shared-memory slots with
// cp.async (portability.h): the bytes are in flight during the whole
// computation and hold no registers. The arithmetic is fused_group's, the
// same code as fused_vec_kernel's one-group instance, so the results are
// the same bits.
//
// Shapes: one group per item (strided scales, or a packed word's byte per
// item as the one-group plans write it), kNV vectors per lane, fused calls
// with or without masked_m (masked rows are neither copied nor computed:
// a warp whose items are all masked moves on as in fused_vec_kernel).
// CUDA only (launch_fused_typed): HIP has no asynchronous copy here.
#pragma once

#include <cstdint>

#include "gpu/device/fused_kernel.cuh"
#include "gpu/device/portability.h"

namespace groupquant {
namespace gpu {

constexpr bool kStagedFusedKernel = !GQ_PLATFORM_HIP;

template <InputFormat kIn, QuantFormat kOut, int kNV, bool kPow2, bool kClamp,
          bool kAlt>
__global__ void __launch_bounds__(kBlockThreads)
    fused_staged_kernel(const FusedParams fp) {
  using In = Input<kIn>;
  constexpr int kBytesIn = In::kBytes;
  constexpr int kVec = 16 / kBytesIn;
  // Two stages of each thread's gate vectors [0, kNV) and up vectors
  // [kNV, 2 kNV); consecutive threads, consecutive 16-byte slots.
  __shared__ uint4 stage[2][2 * kNV][kBlockThreads];
  const KernelParams& p = fp.k;
  const int lanes = p.lanes;
  const int lane = threadIdx.x & (lanes - 1);
  const int64_t thread =
      static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  const int64_t warp_first = thread & ~static_cast<int64_t>(kWarpSize - 1);
  const int sub_in_warp = (threadIdx.x & (kWarpSize - 1)) >> p.lanes_log2;
  const int subs = kWarpSize >> p.lanes_log2;
  const int64_t sub_stride =
      (static_cast<int64_t>(gridDim.x) * kBlockThreads) >> p.lanes_log2;
  const int64_t up_bytes = fp.up_offset * kBytesIn;

  // Starts the copies of the first warp position from b on (b, b + stride,
  // ...) where some item writes, into stage st, and returns that position
  // (p.items or more: none left, nothing copied). Warp-uniform.
  const auto fetch = [&](int64_t b, int st) {
    FusedPos f = fused_locate(fp, b + sub_in_warp);
    while (fp.masked_m != nullptr && b < p.items && !warp_any(f.writes)) {
      b = skip_masked_rows(fp, b, sub_stride, subs) + sub_stride;
      f = fused_locate(fp, b + sub_in_warp);
    }
    if (b < p.items) {
      const KernelParams pe =
          expert_view(fp, f.has_data ? f.expert : 0, kBytesIn);
      const char* xg = static_cast<const char*>(pe.x) +
                       ((f.has_data ? f.row : 0) * pe.x_row_stride +
                        f.g0 * pe.group_size) * kBytesIn +
                       lane * 16;
#pragma unroll
      for (int v = 0; v < kNV; ++v) {
        const char* src = xg + v * lanes * 16;
        copy_async16(&stage[st][v][threadIdx.x], src, f.valid[0]);
        copy_async16(&stage[st][kNV + v][threadIdx.x], src + up_bytes,
                     f.valid[0]);
      }
    }
    copy_async_commit();  // possibly empty: the wait below counts groups
    return b;
  };

  int st = 0;
  for (int64_t base = fetch(warp_first >> p.lanes_log2, 0); base < p.items;
       st ^= 1) {
    const int64_t next = fetch(base + sub_stride, st ^ 1);
    copy_async_wait<1>();  // this item's group has landed; next's may not
    const FusedPos f = fused_locate(fp, base + sub_in_warp);
    const KernelParams pe =
        expert_view(fp, f.has_data ? f.expert : 0, kBytesIn);
    uint4 gate[kNV];
    uint4 up[kNV];
#pragma unroll
    for (int v = 0; v < kNV; ++v) {
      gate[v] = stage[st][v][threadIdx.x];
      up[v] = stage[st][kNV + v][threadIdx.x];
    }
    char* qg = static_cast<char*>(pe.q) +
               (f.has_data ? f.row : 0) * pe.q_row_stride +
               f.g0 * pe.group_size + lane * kVec;
    const float s[1] = {fused_group<kIn, kOut, kNV, kPow2, kClamp, kAlt>(
        pe, lanes, true, f.valid[0], gate, up, qg)};
    const bool valid[1] = {f.valid[0]};
    write_scales<1>(pe, f.writes, f.has_data, lane, f.row, f.chunk_index,
                    f.g0, s, valid);
    base = next;
  }
}

}  // namespace gpu
}  // namespace groupquant
