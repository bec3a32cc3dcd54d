// Host side of the shared GPU backend: picks the kernel variant and the grid
// for a validated QuantProblem and launches it on a stream. The CUDA and HIP
// launchers differ only in how they obtain the stream and the device.
#pragma once

#include <cstdint>

#include "csrc/gpu/portability.h"
#include "csrc/gpu/quant_kernel.cuh"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace gpu {

// Minimum 16-byte vectors per lane and group when the group allows it
// (-DGQ_VECTORS_PER_LANE=2 or 4 to change it; docs/cuda_kernel_notes.md).
#if defined(GQ_VECTORS_PER_LANE)
constexpr int64_t kVectorsPerLane = GQ_VECTORS_PER_LANE;
#else
constexpr int64_t kVectorsPerLane = 1;
#endif

struct LaunchPlan {
  bool vectorized = false;
  int nv = 0;     // 16-byte vectors per lane per group (vectorized only)
  int lanes = 0;  // lanes per group
  int chunk = 0;  // groups per item
  int64_t chunks_per_row = 0;
  int64_t items = 0;
  int64_t blocks = 0;  // one sub-group per item; capped at launch
};

inline int input_bytes(InputFormat f) {
  return f == InputFormat::kFloat32 ? 4 : 2;
}

inline int log2_exact(int v) {
  int l = 0;
  while ((1 << l) < v) ++l;
  return l;
}

// The fast path needs whole 16-byte vectors everywhere it loads and whole
// output vectors everywhere it stores, and a per-lane vector count it was
// compiled for. Returns lanes and nv, or false for the generic path.
inline bool vector_shape(const QuantProblem& p, int* lanes, int* nv) {
  const int64_t in_bytes = input_bytes(p.in_format);
  const int64_t out_vec = 16 / in_bytes;
  const int64_t group_bytes = p.group_size * in_bytes;
  if (group_bytes % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(p.x) % 16 != 0) return false;
  if ((p.x_row_stride * in_bytes) % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(p.q) % out_vec != 0) return false;
  if (p.q_row_stride % out_vec != 0) return false;
  const int64_t vectors = group_bytes / 16;
  // Lanes per group: a power of two dividing the group's vector count, at
  // most 16, and (when the group is big enough) leaving each lane at least
  // kVectorsPerLane vectors. More vectors per lane cut the per-group work
  // that every lane repeats (shuffles, scale, 1/s), but cost registers: on
  // H100 with 128 bf16 values a group, 8 lanes x 2 vectors needed 102
  // registers (2 blocks per SM) and ran slower than 16 x 1 (62 registers,
  // 4 blocks per SM) for most shapes; hence the default of 1.
  int64_t l = vectors & -vectors;  // largest power of two dividing it
  if (l > 16) l = 16;
  while (l > 1 && vectors / l < kVectorsPerLane) l >>= 1;
  const int64_t n = vectors / l;
  if (n != 1 && n != 2 && n != 4) return false;
  *lanes = static_cast<int>(l);
  *nv = static_cast<int>(n);
  return true;
}

inline LaunchPlan plan_launch(const QuantProblem& p, int sm_count) {
  LaunchPlan plan;
  plan.vectorized = vector_shape(p, &plan.lanes, &plan.nv);
  if (!plan.vectorized) plan.lanes = kGenericLanes;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  const int64_t rows = packed ? p.packed_rows : p.m;
  // Four groups per item keep 4 * nv loads in flight per lane. Only when
  // that would leave SMs without a block (tiny m) does the chunk shrink,
  // trading bytes in flight per lane for more lanes (measured on H100: at
  // m = 256 x 7168, one group per item was 1.6x slower than four). Packed
  // words need their 4 groups in one item.
  const int64_t want_threads = static_cast<int64_t>(sm_count) * kBlockThreads;
  plan.chunk = kChunk;
  while (!packed && plan.chunk > 1 &&
         rows * ((p.groups_per_row + plan.chunk - 1) / plan.chunk) *
                 plan.lanes <
             want_threads) {
    plan.chunk >>= 1;
  }
  plan.chunks_per_row = packed
                            ? p.packed_cols
                            : (p.groups_per_row + plan.chunk - 1) / plan.chunk;
  plan.items = rows * plan.chunks_per_row;
  plan.blocks = (plan.items * plan.lanes + kBlockThreads - 1) / kBlockThreads;
  return plan;
}

// Which encoder path and whether the clamp to [qmin, qmax] is needed. The
// clamp is skipped only where the encoder saturates to the same bounds on
// its own (proved on all floats by tools/gpu/gpu_encode_check.cu):
// e4m3fn at +-448; int8 at [-128, 127]; e4m3fnuz at +-240 (software) or at
// +-224 through the e4m3fn conversion, which is used whenever the bounds lie
// inside +-224 (vLLM's and SGLang's default).
inline void encode_mode(const QuantProblem& p, bool* clamp, bool* fnuz_via_fn) {
  *fnuz_via_fn = false;
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      *clamp = !(p.qmin <= -448.f && p.qmax >= 448.f);
      break;
    case QuantFormat::kE4M3FNUZ:
      *fnuz_via_fn = p.qmin >= -224.f && p.qmax <= 224.f;
      *clamp = *fnuz_via_fn ? !(p.qmin <= -224.f && p.qmax >= 224.f)
                            : !(p.qmin <= -240.f && p.qmax >= 240.f);
      break;
    default:
      *clamp = !(p.qmin <= -128.f && p.qmax >= 127.f);
      break;
  }
}

inline KernelParams make_params(const QuantProblem& p, const LaunchPlan& plan) {
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  KernelParams k{};
  k.x = p.x;
  k.q = p.q;
  k.s = p.s;
  k.m = p.m;
  k.rows = packed ? p.packed_rows : p.m;
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
  encode_mode(p, &k.clamp, &k.fnuz_via_fn);
  return k;
}

// Grid-stride kernels want exactly one resident wave: more blocks only queue
// behind blocks that already loop over all the work. The residency of each
// kernel is asked once (it depends on its register count, not on the call).
template <void (*kKernel)(KernelParams)>
inline Error launch_one_wave(const LaunchPlan& plan, int sm_count,
                             Stream stream, const KernelParams& k) {
  static const int per_sm = [] {
    int n = 0;
    if (resident_blocks_per_sm(kKernel, kBlockThreads, &n) != kSuccess ||
        n <= 0) {
      (void)last_error();  // clear it; fall back to one block per SM
      n = 1;
    }
    return n;
  }();
  const int64_t wave = static_cast<int64_t>(sm_count) * per_sm;
  const int64_t grid = plan.blocks < wave ? plan.blocks : wave;
  return launch(kKernel, static_cast<unsigned>(grid), kBlockThreads, stream, k);
}

template <InputFormat kIn, QuantFormat kOut>
inline Error launch_typed(const LaunchPlan& plan, const KernelParams& k,
                          int sm_count, Stream stream) {
  if (!plan.vectorized) {
    return launch_one_wave<quant_generic_kernel<kIn, kOut>>(
          plan, sm_count, stream, k);
  }
  switch (plan.nv) {
    case 1:
      return launch_one_wave<quant_vec_kernel<kIn, kOut, 1>>(
          plan, sm_count, stream, k);
    case 2:
      return launch_one_wave<quant_vec_kernel<kIn, kOut, 2>>(
          plan, sm_count, stream, k);
    default:
      return launch_one_wave<quant_vec_kernel<kIn, kOut, 4>>(
          plan, sm_count, stream, k);
  }
}

template <InputFormat kIn>
inline Error launch_for_input(const QuantProblem& p, const LaunchPlan& plan,
                              const KernelParams& k, int sm_count,
                              Stream stream) {
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      return launch_typed<kIn, QuantFormat::kE4M3FN>(plan, k, sm_count,
                                                       stream);
    case QuantFormat::kE4M3FNUZ:
      return launch_typed<kIn, QuantFormat::kE4M3FNUZ>(plan, k, sm_count,
                                                       stream);
    default:
      return launch_typed<kIn, QuantFormat::kInt8>(plan, k, sm_count,
                                                       stream);
  }
}

// Launches the quantization of a validated, non-empty problem on `stream`
// (the caller has made the problem's device current). Returns the launch
// status.
inline Error launch_quant(const QuantProblem& p, Stream stream, int sm_count) {
  if (sm_count < 1) sm_count = 1;
  const LaunchPlan plan = plan_launch(p, sm_count);
  if (plan.items == 0) return kSuccess;
  const KernelParams k = make_params(p, plan);
  switch (p.in_format) {
    case InputFormat::kFloat32:
      return launch_for_input<InputFormat::kFloat32>(p, plan, k, sm_count,
                                                    stream);
    case InputFormat::kFloat16:
      return launch_for_input<InputFormat::kFloat16>(p, plan, k, sm_count,
                                                    stream);
    default:
      return launch_for_input<InputFormat::kBFloat16>(p, plan, k, sm_count,
                                                    stream);
  }
}

}  // namespace gpu
}  // namespace groupquant
