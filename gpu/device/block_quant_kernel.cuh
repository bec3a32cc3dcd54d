// Weight block quantization on the GPU, shared by the CUDA and HIP backends
// (portability.h holds the differences). One thread block per weight block
// (grid-stride over blocks): pass 1 folds |w| into a per-thread maximum, a
// shared-memory tree combines them (max is exact in any order), pass 2
// re-reads the block (from L1/L2) and encodes. The math is csrc/quant_math.h,
// the CPU backend's code; x / s is the IEEE division except where s is a
// power of two (UE8M0), where x * (1/s) is the same correctly rounded value.
//
// Weights are quantized once at load time, so the kernel is plain scalar
// code with coalesced row segments rather than a tuned vector path.
#pragma once

#include <cstdint>

#include "csrc/consumer_problem.h"
#include "csrc/dequant_math.h"
#include "gpu/device/portability.h"
#include "csrc/quant_math.h"

namespace groupquant {
namespace gpu {

constexpr int kBlockQuantThreads = 256;

struct BlockQuantParams {
  const void* x;
  void* q;
  float* s;
  int64_t n, k, block_n, block_k, blocks_k, total_blocks;
  int64_t x_row_stride, q_row_stride, s_row_stride, s_col_stride;
  float eps, qmin, qmax;
  int32_t tx;  // threads along a block row (power of two); 256 / tx rows
  bool ue8m0;
};

template <InputFormat kIn, QuantFormat kOut>
__global__ void __launch_bounds__(kBlockQuantThreads)
    block_quant_kernel(const BlockQuantParams p) {
  __shared__ float partial[kBlockQuantThreads];
  constexpr int64_t kInBytes = kIn == InputFormat::kFloat32 ? 4 : 2;
  const int tid = threadIdx.x;
  const int tx = tid & (p.tx - 1);
  const int ty = tid / p.tx;
  const int rows_per_pass = kBlockQuantThreads / p.tx;
  for (int64_t b = blockIdx.x; b < p.total_blocks; b += gridDim.x) {
    const int64_t bi = b / p.blocks_k;
    const int64_t bj = b - bi * p.blocks_k;
    const int64_t r0 = bi * p.block_n;
    const int64_t r1 = r0 + p.block_n < p.n ? r0 + p.block_n : p.n;
    const int64_t c0 = bj * p.block_k;
    const int64_t c1 = c0 + p.block_k < p.k ? c0 + p.block_k : p.k;

    float a = 0.f;
    for (int64_t r = r0 + ty; r < r1; r += rows_per_pass) {
      const char* row = static_cast<const char*>(p.x) + r * p.x_row_stride * kInBytes;
      for (int64_t c = c0 + tx; c < c1; c += p.tx) {
        a = gq_abs_max_step(a, gq_load_input<kIn>(row, c));
      }
    }
    partial[tid] = a;
    __syncthreads();
    for (int half = kBlockQuantThreads / 2; half > 0; half >>= 1) {
      if (tid < half) {
        const float o = partial[tid + half];
        partial[tid] = o > partial[tid] ? o : partial[tid];
      }
      __syncthreads();
    }
    const float s = gq_group_scale(partial[0], p.eps, p.qmax, p.ue8m0);
    // Exact: 1/s of a power of two (or +Inf) is a float (2^-127 included).
    const float inv = p.ue8m0 ? gq_div_rn(1.f, s) : 0.f;
    if (tid == 0) p.s[bi * p.s_row_stride + bj * p.s_col_stride] = s;

    for (int64_t r = r0 + ty; r < r1; r += rows_per_pass) {
      const char* row = static_cast<const char*>(p.x) + r * p.x_row_stride * kInBytes;
      uint8_t* qrow = static_cast<uint8_t*>(p.q) + r * p.q_row_stride;
      for (int64_t c = c0 + tx; c < c1; c += p.tx) {
        const float x = gq_load_input<kIn>(row, c);
        const float y = p.ue8m0 ? gq_mul_rn(x, inv) : gq_div_rn(x, s);
        qrow[c] = gq_encode_code<kOut>(gq_clamp_keep_nan(y, p.qmin, p.qmax));
      }
    }
    // partial[0] is read above by every thread before the next block's
    // maxima overwrite it.
    __syncthreads();
  }
}

// Launches a validated, non-empty problem on `stream` (the caller has made
// its device current).
inline Error launch_block_quant(const BlockQuantProblem& p, Stream stream) {
  BlockQuantParams k{};
  k.x = p.x;
  k.q = p.q;
  k.s = p.s;
  k.n = p.n;
  k.k = p.k;
  k.block_n = p.block_n;
  k.block_k = p.block_k;
  k.blocks_k = p.blocks_k;
  k.total_blocks = p.blocks_n * p.blocks_k;
  k.x_row_stride = p.x_row_stride;
  k.q_row_stride = p.q_row_stride;
  k.s_row_stride = p.s_row_stride;
  k.s_col_stride = p.s_col_stride;
  k.eps = p.eps;
  k.qmin = p.qmin;
  k.qmax = p.qmax;
  k.ue8m0 = p.ue8m0;
  // A whole warp (or more) along each block row keeps loads coalesced.
  k.tx = 32;
  while (k.tx < kBlockQuantThreads && k.tx < p.block_k) k.tx <<= 1;
  const int64_t max_grid = int64_t{1} << 20;
  const unsigned grid = static_cast<unsigned>(
      k.total_blocks < max_grid ? k.total_blocks : max_grid);
  const unsigned block = kBlockQuantThreads;
#define GQ_BQ_CASE(IN, OUT)                                                    \
  if (p.in_format == InputFormat::IN && p.out_format == QuantFormat::OUT) {    \
    return launch(block_quant_kernel<InputFormat::IN, QuantFormat::OUT>, grid, \
                  block, stream, k);                                           \
  }
  GQ_BQ_CASE(kFloat32, kE4M3FN)
  GQ_BQ_CASE(kFloat32, kE4M3FNUZ)
  GQ_BQ_CASE(kFloat32, kInt8)
  GQ_BQ_CASE(kFloat16, kE4M3FN)
  GQ_BQ_CASE(kFloat16, kE4M3FNUZ)
  GQ_BQ_CASE(kFloat16, kInt8)
  GQ_BQ_CASE(kBFloat16, kE4M3FN)
  GQ_BQ_CASE(kBFloat16, kE4M3FNUZ)
  GQ_BQ_CASE(kBFloat16, kInt8)
#undef GQ_BQ_CASE
  return kSuccess;  // unreachable: validation admits only the cases above
}

}  // namespace gpu
}  // namespace groupquant
