// Both dequantize ops on the CPU: threads over rows; within a row, one scale
// per run of col_block elements; 8-bit codes decoded through a 256-entry
// table built from the shared decoder (csrc/dequant_math.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <algorithm>
#include <cstdint>

#include "cpu/consumer_cpu.h"
#include "cpu/parallel.h"
#include "csrc/dequant_math.h"
#include "csrc/format_dispatch.h"

namespace groupquant {
namespace cpu_backend {
namespace {

template <QuantFormat kQ>
struct DecodeTable {
  float v[256];
  DecodeTable() {
    for (uint32_t c = 0; c < 256; ++c) v[c] = gq_decode<kQ>(static_cast<uint8_t>(c));
  }
};

template <QuantFormat kQ, InputFormat kOut, bool kPacked>
void dequant_rows(const DequantProblem& p, int64_t r_begin, int64_t r_end) {
  static const DecodeTable<kQ> table;
  using Raw = typename DequantOut<kOut>::Raw;
  const int64_t blocks = (p.k + p.col_block - 1) / p.col_block;
  for (int64_t r = r_begin; r < r_end; ++r) {
    const uint8_t* qrow = static_cast<const uint8_t*>(p.q) + r * p.q_row_stride;
    Raw* orow = static_cast<Raw*>(p.out) + r * p.out_row_stride;
    const int64_t si = (r / p.row_block) * p.s_row_stride;
    for (int64_t j = 0; j < blocks; ++j) {
      float scale;
      if (kPacked) {
        const uint32_t word = static_cast<uint32_t>(
            static_cast<const int32_t*>(p.s)[si + (j >> 2) * p.s_col_stride]);
        scale = gq_ue8m0_scale(word >> (8 * (j & 3)));
      } else {
        scale = static_cast<const float*>(p.s)[si + j * p.s_col_stride];
      }
      const int64_t c1 = std::min(p.k, (j + 1) * p.col_block);
      for (int64_t c = j * p.col_block; c < c1; ++c) {
        orow[c] = DequantOut<kOut>::encode(table.v[qrow[c]] * scale);
      }
    }
  }
}

}  // namespace

void dequantize(const DequantProblem& p) {
  if (p.empty()) return;
  dispatch_quant_format(p.q_format, [&p](auto codes) {
    dispatch_input_format(p.out_format, [&p](auto out) {
      constexpr QuantFormat kQ = decltype(codes)::value;
      constexpr InputFormat kOut = decltype(out)::value;
      const auto fn = p.packed ? &dequant_rows<kQ, kOut, true>
                               : &dequant_rows<kQ, kOut, false>;
      parallel_ranges(p.m, p.k,
                      [&p, fn](int64_t b, int64_t e) { fn(p, b, e); });
    });
  });
}

}  // namespace cpu_backend
}  // namespace groupquant
