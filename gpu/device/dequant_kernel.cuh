// Both dequantize ops on the GPU, shared by the CUDA and HIP backends: an
// elementwise kernel over q [m, k], blockIdx.y striding over rows and
// blockIdx.x over 256-column segments. Each element reads its scale (one
// per row block x column block, float32 or a byte of a packed UE8M0 word;
// neighbouring threads share it, so the loads are broadcasts from L1),
// decodes its code exactly and rounds the float32 product once to the output
// format with the conversions of csrc/dequant_math.h, the CPU's code.
#pragma once

#include <cstdint>

#include "csrc/consumer_problem.h"
#include "csrc/dequant_math.h"
#include "gpu/device/block_quant_kernel.cuh"
#include "gpu/device/portability.h"

namespace groupquant {
namespace gpu {

constexpr int kDequantThreads = 256;

struct DequantParams {
  const uint8_t* q;
  const void* s;
  void* out;
  int64_t m, k, row_block, col_block;
  int64_t q_row_stride, out_row_stride, s_row_stride, s_col_stride;
};

// c / col_block in 32 bits when every column index fits (a 64-bit division
// is a long instruction sequence on both vendors' GPUs).
template <bool kNarrow>
__device__ inline int64_t column_block(int64_t c, int64_t col_block) {
  if (kNarrow) {
    return static_cast<uint32_t>(c) / static_cast<uint32_t>(col_block);
  } else {
    return c / col_block;
  }
}

template <QuantFormat kQ, InputFormat kOut, bool kPacked, bool kNarrow>
__global__ void __launch_bounds__(kDequantThreads)
    dequant_kernel(const DequantParams p) {
  using Raw = typename DequantOut<kOut>::Raw;
  const int64_t col_step = static_cast<int64_t>(gridDim.x) * kDequantThreads;
  for (int64_t r = blockIdx.y; r < p.m; r += gridDim.y) {
    const uint8_t* qrow = p.q + r * p.q_row_stride;
    Raw* orow = static_cast<Raw*>(p.out) + r * p.out_row_stride;
    const int64_t srow = (r / p.row_block) * p.s_row_stride;
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * kDequantThreads + threadIdx.x;
         c < p.k; c += col_step) {
      const int64_t j = column_block<kNarrow>(c, p.col_block);
      float scale;
      if (kPacked) {
        const uint32_t word = static_cast<uint32_t>(
            static_cast<const int32_t*>(p.s)[srow + (j >> 2) * p.s_col_stride]);
        scale = gq_ue8m0_scale(word >> (8 * (j & 3)));
      } else {
        scale = static_cast<const float*>(p.s)[srow + j * p.s_col_stride];
      }
      orow[c] = DequantOut<kOut>::encode(gq_mul_rn(gq_decode<kQ>(qrow[c]), scale));
    }
  }
}

template <QuantFormat kQ, InputFormat kOut>
inline Error launch_dequant_typed(const DequantProblem& p,
                                  const DequantParams& k, dim3 grid,
                                  Stream stream) {
  const bool narrow = p.k <= static_cast<int64_t>(UINT32_MAX);
  if (p.packed) {
    if (narrow) dequant_kernel<kQ, kOut, true, true><<<grid, kDequantThreads, 0, stream>>>(k);
    else dequant_kernel<kQ, kOut, true, false><<<grid, kDequantThreads, 0, stream>>>(k);
  } else {
    if (narrow) dequant_kernel<kQ, kOut, false, true><<<grid, kDequantThreads, 0, stream>>>(k);
    else dequant_kernel<kQ, kOut, false, false><<<grid, kDequantThreads, 0, stream>>>(k);
  }
  return last_error();
}

template <QuantFormat kQ>
inline Error launch_dequant_for_codes(const DequantProblem& p,
                                      const DequantParams& k, dim3 grid,
                                      Stream stream) {
  switch (p.out_format) {
    case InputFormat::kFloat32:
      return launch_dequant_typed<kQ, InputFormat::kFloat32>(p, k, grid, stream);
    case InputFormat::kFloat16:
      return launch_dequant_typed<kQ, InputFormat::kFloat16>(p, k, grid, stream);
    default:
      return launch_dequant_typed<kQ, InputFormat::kBFloat16>(p, k, grid, stream);
  }
}

// Launches a validated, non-empty problem on `stream` (the caller has made
// its device current).
inline Error launch_dequant(const DequantProblem& p, Stream stream) {
  DequantParams k{};
  k.q = static_cast<const uint8_t*>(p.q);
  k.s = p.s;
  k.out = p.out;
  k.m = p.m;
  k.k = p.k;
  k.row_block = p.row_block;
  k.col_block = p.col_block;
  k.q_row_stride = p.q_row_stride;
  k.out_row_stride = p.out_row_stride;
  k.s_row_stride = p.s_row_stride;
  k.s_col_stride = p.s_col_stride;
  // About 4K blocks in all: enough to fill any current GPU, few enough that
  // each block loops over several rows.
  const int64_t segments = (p.k + kDequantThreads - 1) / kDequantThreads;
  const int64_t gx = segments < 1024 ? segments : 1024;
  int64_t gy = 4096 / gx;
  if (gy < 1) gy = 1;
  if (gy > p.m) gy = p.m;
  if (gy > 65535) gy = 65535;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  switch (p.q_format) {
    case QuantFormat::kE4M3FN:
      return launch_dequant_for_codes<QuantFormat::kE4M3FN>(p, k, grid, stream);
    case QuantFormat::kE4M3FNUZ:
      return launch_dequant_for_codes<QuantFormat::kE4M3FNUZ>(p, k, grid, stream);
    default:
      return launch_dequant_for_codes<QuantFormat::kInt8>(p, k, grid, stream);
  }
}

}  // namespace gpu
}  // namespace groupquant
