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

// The plain fast path's conditions (vector_shape, one vector per lane where
// the group allows it) for expert 0; the other experts must start on the
// same 16-byte grid. The up half starts H elements after the gate, a whole
// number of groups, whose bytes vector_shape requires to be a multiple of
// 16. Four vectors per lane (float32 groups of 256 and more) would hold
// 2 x 16 input vectors and 64 values per lane: those take the generic path
// rather than risk spills.
// Masked calls without the fusion are the plain op per expert and take the
// plain rule for vectors per lane over all experts' groups; fused ones hold
// gate and up vectors, one of each per lane where the group allows it.
inline bool fused_vector_shape(const QuantProblem& p, int sm_count, int* lanes,
                               int* nv) {
  const int64_t min_vectors =
      p.fuse_silu_and_mul
          ? 1
          : vectors_per_lane(p.experts * p.m * p.groups_per_row, sm_count);
  if (!vector_shape(p, min_vectors, lanes, nv) || *nv > 2) return false;
  const int64_t in_bytes = input_bytes(p.in_format);
  const int64_t out_vec = 16 / in_bytes;
  if (p.experts > 1) {
    if ((p.x_expert_stride * in_bytes) % 16 != 0) return false;
    if (p.q_expert_stride % out_vec != 0) return false;
  }
  return true;
}

// plan_launch's choices with experts * rows rows; `rows` is one expert's.
inline LaunchPlan plan_fused(const QuantProblem& p, int sm_count,
                             int64_t* rows) {
  LaunchPlan plan;
  plan.vectorized = fused_vector_shape(p, sm_count, &plan.lanes, &plan.nv);
  if (!plan.vectorized) plan.lanes = kGenericLanes;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  // Masked calls never touch the padding rows; unmasked packed ones zero them.
  *rows = packed && !p.masked() ? p.packed_rows : p.m;
  plan_items(p, sm_count, *rows * p.experts, &plan);
  return plan;
}

inline FusedParams make_fused_params(const QuantProblem& p,
                                     const LaunchPlan& plan, int64_t rows) {
  FusedParams fp{};
  fp.k = make_params(p, plan);  // the plain kernel's fields, totals included
  fp.masked_m = p.masked_m;
  fp.items_per_expert = rows * plan.chunks_per_row;
  if (fp.k.narrow_items && fp.items_per_expert > 0) {
    fp.expert_div = FastDivU32(static_cast<uint32_t>(fp.items_per_expert));
  }
  fp.x_expert_stride = p.x_expert_stride;
  fp.q_expert_stride = p.q_expert_stride;
  fp.s_expert_stride = p.s_expert_stride;
  fp.up_offset = p.fuse_silu_and_mul ? p.k : 0;
  return fp;
}

template <InputFormat kIn, QuantFormat kOut, bool kFused>
inline Error launch_fused_typed(const LaunchPlan& plan, const EncodeMode& mode,
                                const FusedParams& fp, int sm_count,
                                Stream stream) {
  if (!plan.vectorized) {
    return launch_grid<fused_generic_kernel<kIn, kOut, kFused>>(
        plan, sm_count, stream, fp);
  }
  return with_modes<kOut>(fp.k.ue8m0, mode, [&](auto pow2, auto clamp,
                                                auto alt) {
    constexpr bool kPow2 = decltype(pow2)::value;
    constexpr bool kClamp = decltype(clamp)::value;
    constexpr bool kAlt = decltype(alt)::value;
    if (plan.nv == 1) {
      return launch_grid<
          fused_vec_kernel<kIn, kOut, 1, kFused, kPow2, kClamp, kAlt>>(
          plan, sm_count, stream, fp);
    }
    return launch_grid<
        fused_vec_kernel<kIn, kOut, 2, kFused, kPow2, kClamp, kAlt>>(
        plan, sm_count, stream, fp);
  });
}

template <InputFormat kIn, QuantFormat kOut>
inline Error launch_fused_out(const QuantProblem& p, const LaunchPlan& plan,
                              const EncodeMode& mode, const FusedParams& fp,
                              int sm_count, Stream stream) {
  return p.fuse_silu_and_mul
             ? launch_fused_typed<kIn, kOut, true>(plan, mode, fp, sm_count,
                                                   stream)
             : launch_fused_typed<kIn, kOut, false>(plan, mode, fp, sm_count,
                                                    stream);
}

template <InputFormat kIn>
inline Error launch_fused_in(const QuantProblem& p, const LaunchPlan& plan,
                             const EncodeMode& mode, const FusedParams& fp,
                             int sm_count, Stream stream) {
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      return launch_fused_out<kIn, QuantFormat::kE4M3FN>(p, plan, mode, fp, sm_count,
                                                         stream);
    case QuantFormat::kE4M3FNUZ:
      return launch_fused_out<kIn, QuantFormat::kE4M3FNUZ>(p, plan, mode, fp,
                                                           sm_count, stream);
    default:
      return launch_fused_out<kIn, QuantFormat::kInt8>(p, plan, mode, fp, sm_count,
                                                       stream);
  }
}

// Launches a validated, non-empty fused and/or masked problem on `stream`.
inline Error launch_fused(const QuantProblem& p, Stream stream, int sm_count) {
  if (sm_count < 1) sm_count = 1;
  int64_t rows = 0;
  const LaunchPlan plan = plan_fused(p, sm_count, &rows);
  if (plan.items == 0) return kSuccess;
  const FusedParams fp = make_fused_params(p, plan, rows);
  EncodeMode mode;
  encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  switch (p.in_format) {
    case InputFormat::kFloat32:
      return launch_fused_in<InputFormat::kFloat32>(p, plan, mode, fp, sm_count,
                                                    stream);
    case InputFormat::kFloat16:
      return launch_fused_in<InputFormat::kFloat16>(p, plan, mode, fp, sm_count,
                                                    stream);
    default:
      return launch_fused_in<InputFormat::kBFloat16>(p, plan, mode, fp, sm_count,
                                                     stream);
  }
}

}  // namespace gpu
}  // namespace groupquant
