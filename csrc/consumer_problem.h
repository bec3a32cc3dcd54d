// Validated descriptions of the consumer-side ops (128x128 weight block
// quantization and the two dequantize ops), shared by every backend. As with
// QuantProblem, csrc/consumer_validation.cpp is the only producer: a kernel
// may trust every extent and stride here to lie inside the tensors' storage.
#pragma once

#include <cstdint>

#include "csrc/quant_problem.h"

namespace groupquant {

// per_block_quant: w [n, k] in blocks of block_n x block_k (edge blocks
// partial); one float32 scale per block at s[i * s_row_stride + j *
// s_col_stride] for block (i, j).
struct BlockQuantProblem {
  int64_t n = 0;
  int64_t k = 0;
  int64_t block_n = 0;
  int64_t block_k = 0;
  int64_t blocks_n = 0;  // ceil(n / block_n)
  int64_t blocks_k = 0;  // ceil(k / block_k)
  int64_t x_row_stride = 0;
  int64_t q_row_stride = 0;
  int64_t s_row_stride = 0;
  int64_t s_col_stride = 0;
  float eps = 1e-10f;
  float qmin = 0.f;
  float qmax = 0.f;
  bool ue8m0 = false;
  InputFormat in_format = InputFormat::kBFloat16;
  QuantFormat out_format = QuantFormat::kE4M3FN;
  const void* x = nullptr;
  void* q = nullptr;
  float* s = nullptr;
  int32_t device_index = -1;

  bool empty() const { return n == 0 || k == 0; }
};

// Both dequantize ops: q viewed as [m, k]; element (r, c) is scaled by scale
// (r / row_block, c / col_block): per token group row_block = 1 and
// col_block = group_size; per block they are the block's extents.
// Float scales: scale (i, j) at s[i * s_row_stride + j * s_col_stride].
// Packed UE8M0 scales (int32 words): scale (i, j) is byte j % 4
// (little-endian) of word s[i * s_row_stride + (j / 4) * s_col_stride].
// out[r, c] = round_to_out(decode(q[r, c]) * scale), see csrc/dequant_math.h.
struct DequantProblem {
  int64_t m = 0;
  int64_t k = 0;
  int64_t row_block = 1;
  int64_t col_block = 1;
  int64_t q_row_stride = 0;
  int64_t out_row_stride = 0;
  int64_t s_row_stride = 0;
  int64_t s_col_stride = 0;
  bool packed = false;
  QuantFormat q_format = QuantFormat::kE4M3FN;
  InputFormat out_format = InputFormat::kBFloat16;
  const void* q = nullptr;
  const void* s = nullptr;
  void* out = nullptr;
  int32_t device_index = -1;

  bool empty() const { return m == 0 || k == 0; }
};

}  // namespace groupquant
