// Host side of the fused / masked GPU path: picks the variant and the grid
// for a validated QuantProblem with fuse_silu_and_mul or masked_m and
// launches fused_kernel.cuh on a stream. The plain problems never come here
// (launch.h routes them to quant_launch.cuh unchanged).
#pragma once

#include <cstdint>
#include <type_traits>

#include "gpu/device/fused_kernel.cuh"
#include "gpu/device/portability.h"
#include "gpu/launch/quant_launch.cuh"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace gpu {

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
    // kMaxChunk: one group per item (fused_one_group_kernel) or kChunk.
    auto launch_nv = [&](auto max_chunk) {
      constexpr int kMaxChunk = decltype(max_chunk)::value;
      if (plan.nv == 1) {
        return launch_grid<fused_vec_kernel<kIn, kOut, 1, kMaxChunk, kFused,
                                            kPow2, kClamp, kAlt>>(
            plan, sm_count, stream, fp);
      }
      return launch_grid<fused_vec_kernel<kIn, kOut, 2, kMaxChunk, kFused,
                                          kPow2, kClamp, kAlt>>(
          plan, sm_count, stream, fp);
    };
    return fused_one_group_kernel(plan)
               ? launch_nv(std::integral_constant<int, 1>{})
               : launch_nv(std::integral_constant<int, kChunk>{});
  });
}

// fused_small_kernel (fused_small_kernel_fits): the plain small kernel's
// parameter block, the byte offset of the up half, and for masked calls the
// experts' strides in bytes. Masked calls are always two vectors per lane
// there (fused_small_kernel_fits), so only that instance has a masked twin,
// and masked calls without the fusion a masked plain one (kFused false).
template <InputFormat kIn, QuantFormat kOut>
inline Error launch_fused_small(const QuantProblem& p, const LaunchPlan& plan,
                                const EncodeMode& mode, int sm_count,
                                Stream stream) {
  const int64_t in_bytes = input_bytes(p.in_format);
  FusedSmallParams fp{};
  fp.k = make_small_params(p, plan);
  // Unmasked only (column_ordered_items): masked items walk their expert's
  // rows from a slot, which needs the row order.
  if (column_ordered_items(p, plan, tuning().column_order)) {
    order_items_by_column(&fp.k);
  }
  fp.up_bytes = static_cast<uint32_t>(p.k * in_bytes);
  if (p.masked()) {
    fp.masked_m = p.masked_m;
    fp.expert_div = FastDivU32(static_cast<uint32_t>(plan.items / p.experts));
    fp.row_slots = static_cast<uint32_t>(plan.row_slots);
    fp.x_expert_bytes = static_cast<uint32_t>(p.x_expert_stride * in_bytes);
    fp.q_expert_bytes = static_cast<uint32_t>(p.q_expert_stride);
    fp.s_expert_words = static_cast<uint32_t>(p.s_expert_stride);
  }
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  return with_small_modes<kOut>(p, packed, mode,
                                [&](auto pow2, auto clamp, auto alt,
                                    auto packed_byte) {
    constexpr bool kPow2 = decltype(pow2)::value;
    constexpr bool kClamp = decltype(clamp)::value;
    constexpr bool kAlt = decltype(alt)::value;
    constexpr bool kByte = decltype(packed_byte)::value;
    auto launch_lanes = [&](auto nv, auto masked, auto fused,
                            auto lane_bytes) {
      return launch_grid<
          fused_small_kernel<kIn, kOut, decltype(nv)::value,
                             decltype(masked)::value, kByte, kPow2, kClamp,
                             kAlt, decltype(fused)::value,
                             decltype(lane_bytes)::value>,
          false>(plan, sm_count, stream, fp);
    };
    auto launch_as = [&](auto nv, auto masked, auto fused) {
      return launch_lanes(nv, masked, fused, std::integral_constant<int, 16>{});
    };
    if (!p.fuse_silu_and_mul) {  // masked plain: two vectors per lane only
      return launch_as(std::integral_constant<int, 2>{}, std::true_type{},
                       std::false_type{});
    }
    const std::true_type fused;
    if constexpr (kIn != InputFormat::kFloat32) {  // 2-byte inputs
      if (plan.half_vectors) {
        return launch_lanes(std::integral_constant<int, 1>{},
                            std::false_type{}, fused,
                            std::integral_constant<int, 8>{});
      }
      if (plan.nv == 4) {  // fused_four_vector_items
        return launch_as(std::integral_constant<int, 4>{}, std::false_type{},
                         fused);
      }
    }
    if (plan.nv == 1) {
      return launch_as(std::integral_constant<int, 1>{}, std::false_type{},
                       fused);
    }
    return p.masked() ? launch_as(std::integral_constant<int, 2>{},
                                  std::true_type{}, fused)
                      : launch_as(std::integral_constant<int, 2>{},
                                  std::false_type{}, fused);
  });
}

template <InputFormat kIn, QuantFormat kOut>
inline Error launch_fused_out(const QuantProblem& p, const LaunchPlan& plan,
                              const EncodeMode& mode, const FusedParams& fp,
                              int sm_count, Stream stream) {
  if (fused_small_kernel_fits(p, plan)) {
    return launch_fused_small<kIn, kOut>(p, plan, mode, sm_count, stream);
  }
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
  const LaunchPlan plan =
      plan_fused(p, sm_count, &rows, tuning().masked_plain_flat);
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
