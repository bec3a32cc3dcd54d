// Weight block quantization on the CPU: threads over block rows; per block
// row one pass for the block maxima and one to quantize (the rows of a
// 128-row block row fit in L2 for K up to several thousand).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/consumer_cpu.h"
#include "cpu/parallel.h"
#include "csrc/dequant_math.h"
#include "csrc/format_dispatch.h"
#include "csrc/quant_math.h"

namespace groupquant {
namespace cpu_backend {
namespace {

template <InputFormat kIn, QuantFormat kOut>
void block_rows(const BlockQuantProblem& p, int64_t bi_begin, int64_t bi_end) {
  std::vector<float> amax(static_cast<size_t>(p.blocks_k));
  std::vector<float> scale(static_cast<size_t>(p.blocks_k));
  const char* x_base = static_cast<const char*>(p.x);
  constexpr int64_t kInBytes = kIn == InputFormat::kFloat32 ? 4 : 2;
  for (int64_t bi = bi_begin; bi < bi_end; ++bi) {
    const int64_t r0 = bi * p.block_n;
    const int64_t r1 = std::min(p.n, r0 + p.block_n);
    std::fill(amax.begin(), amax.end(), 0.f);
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = x_base + r * p.x_row_stride * kInBytes;
      for (int64_t bj = 0; bj < p.blocks_k; ++bj) {
        const int64_t c1 = std::min(p.k, (bj + 1) * p.block_k);
        float a = amax[bj];
        for (int64_t c = bj * p.block_k; c < c1; ++c) {
          a = gq_abs_max_step(a, gq_load_input<kIn>(row, c));
        }
        amax[bj] = a;
      }
    }
    for (int64_t bj = 0; bj < p.blocks_k; ++bj) {
      scale[bj] = gq_group_scale(amax[bj], p.eps, p.qmax, p.ue8m0);
      p.s[bi * p.s_row_stride + bj * p.s_col_stride] = scale[bj];
    }
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = x_base + r * p.x_row_stride * kInBytes;
      uint8_t* qrow = static_cast<uint8_t*>(p.q) + r * p.q_row_stride;
      for (int64_t bj = 0; bj < p.blocks_k; ++bj) {
        const int64_t c1 = std::min(p.k, (bj + 1) * p.block_k);
        const float s = scale[bj];
        for (int64_t c = bj * p.block_k; c < c1; ++c) {
          const float y = gq_div_rn(gq_load_input<kIn>(row, c), s);
          qrow[c] = gq_encode_code<kOut>(gq_clamp_keep_nan(y, p.qmin, p.qmax));
        }
      }
    }
  }
}

}  // namespace

void block_quant(const BlockQuantProblem& p) {
  if (p.empty()) return;
  dispatch_input_format(p.in_format, [&p](auto in) {
    dispatch_quant_format(p.out_format, [&p](auto out) {
      const auto fn = &block_rows<decltype(in)::value, decltype(out)::value>;
      parallel_ranges(p.blocks_n, std::min(p.n, p.block_n) * p.k,
                      [&p, fn](int64_t b, int64_t e) { fn(p, b, e); });
    });
  });
}

}  // namespace cpu_backend
}  // namespace groupquant
