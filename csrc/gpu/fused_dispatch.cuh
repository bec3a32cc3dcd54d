// Host side of the fused / masked GPU path: picks the variant and the grid
// for a validated QuantProblem with fuse_silu_and_mul or masked_m and
// launches fused_kernel.cuh on a stream. The plain problems never come here
// (launch.h routes them to quant_dispatch.cuh unchanged).
#pragma once

#include <cstdint>

#include "csrc/gpu/fused_kernel.cuh"
#include "csrc/gpu/portability.h"
#include "csrc/gpu/quant_dispatch.cuh"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace gpu {

struct FusedPlan {
  bool vectorized = false;
  int nv = 0;
  int lanes = 0;
  int chunk = 0;
  int64_t rows = 0;  // rows iterated per expert
  int64_t chunks_per_row = 0;
  int64_t items = 0;
  int64_t blocks = 0;
};

// The plain fast path's conditions (vector_shape) hold for expert 0; the
// other experts and the up half must start on the same 16-byte grid.
// Four vectors per lane (float32 groups of 256+) would hold 2 x 16 input
// vectors and 64 values per lane: those take the generic path instead of
// risking spills (and a third set of instantiations).
inline bool fused_vector_shape(const QuantProblem& p, int* lanes, int* nv) {
  if (!vector_shape(p, lanes, nv) || *nv > 2) return false;
  const int64_t in_bytes = input_bytes(p.in_format);
  const int64_t out_vec = 16 / in_bytes;
  if (p.experts > 1) {
    if ((p.x_expert_stride * in_bytes) % 16 != 0) return false;
    if (p.q_expert_stride % out_vec != 0) return false;
  }
  // The up half starts k elements after the gate: a multiple of the group,
  // whose bytes vector_shape already required to be a multiple of 16.
  return true;
}

inline FusedPlan plan_fused(const QuantProblem& p, int sm_count) {
  FusedPlan plan;
  plan.vectorized = fused_vector_shape(p, &plan.lanes, &plan.nv);
  if (!plan.vectorized) plan.lanes = kGenericLanes;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  // Masked calls never touch the padding rows; unmasked packed ones zero them.
  plan.rows = packed && !p.masked() ? p.packed_rows : p.m;
  // As in plan_launch: four groups per item unless that leaves SMs idle.
  const int64_t want_threads = static_cast<int64_t>(sm_count) * kBlockThreads;
  const int64_t all_rows = plan.rows * p.experts;
  plan.chunk = kChunk;
  while (!packed && plan.chunk > 1 &&
         all_rows * ((p.groups_per_row + plan.chunk - 1) / plan.chunk) *
                 plan.lanes <
             want_threads) {
    plan.chunk >>= 1;
  }
  plan.chunks_per_row = packed
                            ? p.packed_cols
                            : (p.groups_per_row + plan.chunk - 1) / plan.chunk;
  plan.items = all_rows * plan.chunks_per_row;
  plan.blocks = (plan.items * plan.lanes + kBlockThreads - 1) / kBlockThreads;
  return plan;
}

inline FusedParams make_fused_params(const QuantProblem& p,
                                     const FusedPlan& plan) {
  FusedParams fp{};
  KernelParams& k = fp.k;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  k.x = p.x;
  k.q = p.q;
  k.s = p.s;
  k.m = p.m;
  k.rows = plan.rows;
  k.gpr = p.groups_per_row;
  k.group_size = p.group_size;
  k.chunks_per_row = plan.chunks_per_row;
  k.items = plan.items;
  k.x_row_stride = p.x_row_stride;
  k.q_row_stride = p.q_row_stride;
  k.s_row_stride = p.s_row_stride;
  k.s_group_stride = p.s_group_stride;
  k.packed_col_stride = p.packed_col_stride;
  k.eps = p.eps;
  k.qmin = p.qmin;
  k.qmax = p.qmax;
  k.chunk = plan.chunk;
  k.lanes = plan.lanes;
  k.lanes_log2 = log2_exact(plan.lanes);
  k.ue8m0 = p.ue8m0 || packed;
  k.packed = packed;
  k.narrow_items = plan.items <= static_cast<int64_t>(UINT32_MAX);
  // Always clamp, never the fnuz-through-fn encoder: both are exact
  // shortcuts of the plain kernel that the fused path does not need.
  k.clamp = true;
  k.fnuz_via_fn = false;
  fp.masked_m = p.masked_m;
  fp.items_per_expert = plan.rows * plan.chunks_per_row;
  fp.x_expert_stride = p.x_expert_stride;
  fp.q_expert_stride = p.q_expert_stride;
  fp.s_expert_stride = p.s_expert_stride;
  fp.up_offset = p.fuse_silu_and_mul ? p.k : 0;
  return fp;
}

template <void (*kKernel)(FusedParams)>
inline Error launch_fused_wave(const FusedPlan& plan, int sm_count,
                               Stream stream, const FusedParams& fp) {
  static const int per_sm = [] {
    int n = 0;
    if (resident_blocks_per_sm(kKernel, kBlockThreads, &n) != kSuccess ||
        n <= 0) {
      (void)last_error();
      n = 1;
    }
    return n;
  }();
  const int64_t wave = static_cast<int64_t>(sm_count) * per_sm;
  const int64_t grid = plan.blocks < wave ? plan.blocks : wave;
  return launch(kKernel, static_cast<unsigned>(grid), kBlockThreads, stream,
                fp);
}

template <InputFormat kIn, QuantFormat kOut, bool kFused>
inline Error launch_fused_typed(const FusedPlan& plan, const FusedParams& fp,
                                int sm_count, Stream stream) {
  if (!plan.vectorized) {
    return launch_fused_wave<fused_generic_kernel<kIn, kOut, kFused>>(
        plan, sm_count, stream, fp);
  }
  if (plan.nv == 1) {
    return launch_fused_wave<fused_vec_kernel<kIn, kOut, 1, kFused>>(
        plan, sm_count, stream, fp);
  }
  return launch_fused_wave<fused_vec_kernel<kIn, kOut, 2, kFused>>(
      plan, sm_count, stream, fp);
}

template <InputFormat kIn, QuantFormat kOut>
inline Error launch_fused_out(const QuantProblem& p, const FusedPlan& plan,
                              const FusedParams& fp, int sm_count,
                              Stream stream) {
  return p.fuse_silu_and_mul
             ? launch_fused_typed<kIn, kOut, true>(plan, fp, sm_count, stream)
             : launch_fused_typed<kIn, kOut, false>(plan, fp, sm_count, stream);
}

template <InputFormat kIn>
inline Error launch_fused_in(const QuantProblem& p, const FusedPlan& plan,
                             const FusedParams& fp, int sm_count,
                             Stream stream) {
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      return launch_fused_out<kIn, QuantFormat::kE4M3FN>(p, plan, fp, sm_count,
                                                         stream);
    case QuantFormat::kE4M3FNUZ:
      return launch_fused_out<kIn, QuantFormat::kE4M3FNUZ>(p, plan, fp,
                                                           sm_count, stream);
    default:
      return launch_fused_out<kIn, QuantFormat::kInt8>(p, plan, fp, sm_count,
                                                       stream);
  }
}

// Launches a validated, non-empty fused and/or masked problem on `stream`.
inline Error launch_fused(const QuantProblem& p, Stream stream, int sm_count) {
  if (sm_count < 1) sm_count = 1;
  const FusedPlan plan = plan_fused(p, sm_count);
  if (plan.items == 0) return kSuccess;
  const FusedParams fp = make_fused_params(p, plan);
  switch (p.in_format) {
    case InputFormat::kFloat32:
      return launch_fused_in<InputFormat::kFloat32>(p, plan, fp, sm_count,
                                                    stream);
    case InputFormat::kFloat16:
      return launch_fused_in<InputFormat::kFloat16>(p, plan, fp, sm_count,
                                                    stream);
    default:
      return launch_fused_in<InputFormat::kBFloat16>(p, plan, fp, sm_count,
                                                     stream);
  }
}

}  // namespace gpu
}  // namespace groupquant
