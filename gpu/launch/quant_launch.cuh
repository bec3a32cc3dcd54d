// Host side of the shared GPU backend, part two: turns a launch plan
// (launch_plan.h) into the launch of one kernel variant on a stream. The CUDA
// and HIP launchers differ only in how they obtain the stream and the
// device.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "csrc/quant_problem.h"
#include "gpu/device/portability.h"
#include "gpu/device/quant_kernel.cuh"
#include "gpu/launch/launch_plan.h"

namespace groupquant {
namespace gpu {

// The kernel's parameter block from the validated problem and its plan. A
// translation rather than a second description of the call: QuantProblem
// stays the one source (validation fills it, every backend reads it); the
// block holds only what the device reads, next to what the plan derives
// (items, chunk split, lanes, the scale reciprocal), and the per-launch
// choices become template arguments instead of fields (one loop body per
// kernel). This is the only place the two meet.
inline KernelParams make_params(const QuantProblem& p, const LaunchPlan& plan) {
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  KernelParams k{};
  k.x = p.x;
  k.q = p.q;
  k.s = p.s;
  k.m = p.m;
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
  k.scale_by_rcp = scale_division_by_reciprocal(p.qmax);
  k.qmax_rcp = 1.0f / p.qmax;
  k.chunk = plan.chunk;
  k.lanes = plan.lanes;
  k.lanes_log2 = log2_exact(plan.lanes);
  k.ue8m0 = p.ue8m0 || packed;
  k.packed = packed;
  k.narrow_items = plan.items <= static_cast<int64_t>(UINT32_MAX) &&
                   plan.chunks_per_row <= static_cast<int64_t>(UINT32_MAX);
  if (k.narrow_items) {
    k.chunk_div = FastDivU32(static_cast<uint32_t>(plan.chunks_per_row));
  }
  return k;
}

// Launches kKernel over launch_blocks(): kLoops says whether the kernel has
// a grid-stride loop (the small kernels have none: one sub-group per item).
// The residency of each kernel is asked once (it depends on its register
// count, not on the call). Shared by the plain and the fused/masked kernels
// (Params is their parameter block).
template <auto kKernel, bool kLoops = true, typename Params>
inline Error launch_grid(const LaunchPlan& plan, int sm_count, Stream stream,
                         const Params& k) {
  static const int per_sm = [] {
    int n = 0;
    if (resident_blocks_per_sm(kKernel, kBlockThreads, &n) != kSuccess ||
        n <= 0) {
      (void)last_error();  // clear it; fall back to one block per SM
      n = 1;
    }
    return n;
  }();
  const int64_t grid = launch_blocks(
      plan, static_cast<int64_t>(sm_count) * per_sm, kLoops);
  return launch(kKernel, static_cast<unsigned>(grid), kBlockThreads, stream, k);
}

// Calls launch(kPow2, kClamp, kAlt) with the launch's per-kernel choices as
// std::bool_constant arguments, so that each combination instantiates its own
// kernel (one loop body each); the fnuz-through-fn encoder exists only for
// e4m3fnuz output.
template <QuantFormat kOut, typename Launch>
inline Error with_modes(bool pow2, const EncodeMode& mode, Launch&& launch) {
  auto pick_alt = [&](auto kPow2, auto kClamp) -> Error {
    if constexpr (kOut == QuantFormat::kE4M3FNUZ) {
      if (mode.fnuz_via_fn) return launch(kPow2, kClamp, std::true_type{});
    }
    return launch(kPow2, kClamp, std::false_type{});
  };
  auto pick_clamp = [&](auto kPow2) -> Error {
    return mode.clamp ? pick_alt(kPow2, std::true_type{})
                      : pick_alt(kPow2, std::false_type{});
  };
  return pow2 ? pick_clamp(std::true_type{}) : pick_clamp(std::false_type{});
}

// with_modes for the small kernels (UE8M0 whenever the scales are packed),
// plus whether packed scales go out a byte per group (packed_bytes: a
// std::true_type, which exists only with UE8M0) or a word per item.
template <QuantFormat kOut, typename Launch>
inline Error with_small_modes(const QuantProblem& p, bool packed_bytes,
                              const EncodeMode& mode, Launch&& launch) {
  const bool pow2 = p.ue8m0 || p.layout == ScaleLayout::kPackedUE8M0;
  return with_modes<kOut>(pow2, mode, [&](auto kPow2, auto kClamp, auto kAlt) {
    if constexpr (decltype(kPow2)::value) {
      if (packed_bytes) return launch(kPow2, kClamp, kAlt, std::true_type{});
    }
    return launch(kPow2, kClamp, kAlt, std::false_type{});
  });
}

// One group per item with one vector per lane is what small problems get
// (plan_launch shrinks the chunk when the grid would not fill the GPU); it
// has a kernel of its own so that a 1-row call runs only one group's code.
template <InputFormat kIn, QuantFormat kOut, int kNV>
inline Error launch_vec_chunk(const LaunchPlan& plan, const EncodeMode& mode,
                              const KernelParams& k, int sm, Stream st) {
  return with_modes<kOut>(k.ue8m0, mode, [&](auto pow2, auto clamp, auto alt) {
    constexpr bool kPow2 = decltype(pow2)::value;
    constexpr bool kClamp = decltype(clamp)::value;
    constexpr bool kAlt = decltype(alt)::value;
    if constexpr (kNV == 1) {
      if (plan.chunk == 1) {
        return launch_grid<
            quant_vec_kernel<kIn, kOut, kNV, 1, kPow2, kClamp, kAlt>>(
            plan, sm, st, k);
      }
    }
    return launch_grid<
        quant_vec_kernel<kIn, kOut, kNV, kChunk, kPow2, kClamp, kAlt>>(
        plan, sm, st, k);
  });
}

inline SmallParams make_small_params(const QuantProblem& p,
                                     const LaunchPlan& plan) {
  const int64_t in_bytes = input_bytes(p.in_format);
  SmallParams k{};
  k.x = p.x;
  k.q = p.q;
  k.s = p.s;
  k.items = static_cast<uint32_t>(plan.items);
  k.chunk_div = FastDivU32(static_cast<uint32_t>(plan.chunks_per_row));
  k.m = static_cast<uint32_t>(p.m);
  k.gpr = static_cast<uint32_t>(p.groups_per_row);
  k.x_row_bytes = static_cast<uint32_t>(p.x_row_stride * in_bytes);
  k.x_group_bytes = static_cast<uint32_t>(p.group_size * in_bytes);
  k.q_row_stride = static_cast<uint32_t>(p.q_row_stride);
  k.group_size = static_cast<uint32_t>(p.group_size);
  k.s_row_stride = static_cast<uint32_t>(p.s_row_stride);
  k.s_group_stride = static_cast<uint32_t>(p.s_group_stride);
  k.packed_col_stride = static_cast<uint32_t>(p.packed_col_stride);
  k.lanes_log2 = log2_exact(plan.lanes);
  k.eps = p.eps;
  k.qmin = p.qmin;
  k.qmax = p.qmax;
  k.qmax_rcp = 1.0f / p.qmax;
  k.scale_by_rcp = scale_division_by_reciprocal(p.qmax);
  return k;
}

// Column-ordered items (column_ordered_items) on the unchanged kernel: its
// (row, chunk) split divides by M instead of the groups per row, so that
// "row" is the group and "chunk" the row, and every field the kernel pairs
// with one of them swaps with its partner. Offsets stay the same set, so
// small_kernel_fits's 32-bit bounds still hold.
inline void order_items_by_column(SmallParams* k) {
  k->chunk_div = FastDivU32(k->m);
  std::swap(k->m, k->gpr);
  std::swap(k->x_row_bytes, k->x_group_bytes);
  std::swap(k->q_row_stride, k->group_size);
  std::swap(k->s_row_stride, k->s_group_stride);
}

// quant_small_kernel with kNV vectors per lane: a byte of the packed word
// per item (packed_by_bytes), a packed word per item (one vector per lane
// only), or one strided group per item.
template <InputFormat kIn, QuantFormat kOut, int kNV>
inline Error launch_small(const QuantProblem& p, const LaunchPlan& plan,
                          const EncodeMode& mode, int sm, Stream st) {
  SmallParams k = make_small_params(p, plan);
  if (column_ordered_items(p, plan, tuning().column_order)) {
    order_items_by_column(&k);
  }
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  return with_small_modes<kOut>(p, packed && plan.chunk == 1, mode,
                                [&](auto pow2, auto clamp, auto alt,
                                    auto packed_byte) {
    constexpr bool kPow2 = decltype(pow2)::value;
    constexpr bool kClamp = decltype(clamp)::value;
    constexpr bool kAlt = decltype(alt)::value;
    if constexpr (decltype(packed_byte)::value) {
      if (packed_word_columns(p, plan, tuning().packed_word_columns)) {
        SmallParams c = k;
        c.chunk_div = FastDivU32(static_cast<uint32_t>(p.packed_rows));
        return launch_grid<quant_small_kernel<kIn, kOut, kNV, 1, kPow2, kClamp,
                                              kAlt, true, true>,
                           false>(plan, sm, st, c);
      }
      return launch_grid<
          quant_small_kernel<kIn, kOut, kNV, 1, kPow2, kClamp, kAlt, true>,
          false>(plan, sm, st, k);
    }
    if constexpr (kNV == 1) {
      if (packed) {
        return launch_grid<
            quant_small_kernel<kIn, kOut, 1, kChunk, kPow2, kClamp, kAlt>,
            false>(plan, sm, st, k);
      }
    }
    return launch_grid<
        quant_small_kernel<kIn, kOut, kNV, 1, kPow2, kClamp, kAlt>, false>(
        plan, sm, st, k);
  });
}

// One input/output format pair: the small kernel where it fits (its own
// parameter block), else the vectorized or generic kernel.
template <InputFormat kIn, QuantFormat kOut>
inline Error launch_typed(const QuantProblem& p, const LaunchPlan& plan,
                          const EncodeMode& mode, int sm, Stream st) {
  if (small_kernel_fits(p, plan)) {
    return plan.nv == 1 ? launch_small<kIn, kOut, 1>(p, plan, mode, sm, st)
                        : launch_small<kIn, kOut, 2>(p, plan, mode, sm, st);
  }
  const KernelParams k = make_params(p, plan);
  if (!plan.vectorized) {
    return launch_grid<quant_generic_kernel<kIn, kOut>>(plan, sm, st, k);
  }
  switch (plan.nv) {
    case 1:
      return launch_vec_chunk<kIn, kOut, 1>(plan, mode, k, sm, st);
    case 2:
      return launch_vec_chunk<kIn, kOut, 2>(plan, mode, k, sm, st);
    default:
      return launch_vec_chunk<kIn, kOut, 4>(plan, mode, k, sm, st);
  }
}

template <InputFormat kIn>
inline Error launch_for_input(const QuantProblem& p, const LaunchPlan& plan,
                              const EncodeMode& mode, int sm, Stream st) {
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      return launch_typed<kIn, QuantFormat::kE4M3FN>(p, plan, mode, sm, st);
    case QuantFormat::kE4M3FNUZ:
      return launch_typed<kIn, QuantFormat::kE4M3FNUZ>(p, plan, mode, sm, st);
    default:
      return launch_typed<kIn, QuantFormat::kInt8>(p, plan, mode, sm, st);
  }
}

// Launches the quantization of a validated, non-empty problem on `stream`
// (the caller has made the problem's device current). Returns the launch
// status.
inline Error launch_quant(const QuantProblem& p, Stream stream, int sm_count,
                          int peak_memory_gbps) {
  if (sm_count < 1) sm_count = 1;
  const LaunchPlan plan =
      plan_launch(p, sm_count, small_kernel_max_groups(peak_memory_gbps),
                  flat_large_plans(peak_memory_gbps), tuning().small_vectors);
  if (plan.items == 0) return kSuccess;
  EncodeMode mode;
  encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  switch (p.in_format) {
    case InputFormat::kFloat32:
      return launch_for_input<InputFormat::kFloat32>(p, plan, mode, sm_count,
                                                     stream);
    case InputFormat::kFloat16:
      return launch_for_input<InputFormat::kFloat16>(p, plan, mode, sm_count,
                                                     stream);
    default:
      return launch_for_input<InputFormat::kBFloat16>(p, plan, mode, sm_count,
                                                      stream);
  }
}

}  // namespace gpu
}  // namespace groupquant
