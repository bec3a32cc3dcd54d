// The validated description of one quantization call, shared by every
// backend. Validation (csrc/validation.cpp) is the only producer: a kernel
// that receives a QuantProblem may trust every extent and stride in it to be
// inside the tensors' storage, so kernels never re-check bounds.
#pragma once

#include <cstdint>

namespace groupquant {

// Output element formats. Kept as a plain enum (not torch's ScalarType) so
// device code and the pybind11 test module can use it without torch headers.
enum class QuantFormat : int32_t { kE4M3FN = 0, kE4M3FNUZ = 1, kInt8 = 2 };

// Input element formats.
enum class InputFormat : int32_t { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };

// How scales are stored. Row- and column-major (TMA-aligned or not) are the
// same kernel: scale (m, g) lives at s[m * s_row_stride + g * s_group_stride].
// Packed UE8M0 is int32 words, 4 exponent bytes each, column-major with
// padding rows that are also written (zero).
enum class ScaleLayout : int32_t { kStrided = 0, kPackedUE8M0 = 1 };

struct QuantProblem {
  // Logical problem: x viewed as [m, k], groups of group_size along k.
  int64_t m = 0;
  int64_t k = 0;
  int64_t group_size = 0;
  int64_t groups_per_row = 0;  // k / group_size

  // Row strides in elements (the last dim is always contiguous).
  int64_t x_row_stride = 0;
  int64_t q_row_stride = 0;

  // kStrided: float32 scales, strides in elements.
  int64_t s_row_stride = 0;
  int64_t s_group_stride = 0;

  // kPackedUE8M0: int32 words; word (m, c) at s[m + c * packed_col_stride].
  // Rows [m, packed_rows) of every column are padding and written as 0.
  int64_t packed_cols = 0;        // ceil(groups_per_row / 4)
  int64_t packed_rows = 0;        // round_up(m, 4)
  int64_t packed_col_stride = 0;  // >= packed_rows

  float eps = 1e-10f;
  float qmin = 0.f;
  float qmax = 0.f;
  bool ue8m0 = false;  // always true for kPackedUE8M0

  InputFormat in_format = InputFormat::kBFloat16;
  QuantFormat out_format = QuantFormat::kE4M3FN;
  ScaleLayout layout = ScaleLayout::kStrided;

  // Data pointers (already offset by storage_offset).
  const void* x = nullptr;
  void* q = nullptr;
  void* s = nullptr;

  // Device index of the tensors (-1 on CPU).
  int32_t device_index = -1;

  // Fused SiLU * mul (docs/fused_silu_moe.md): each x row holds 2k
  // elements, gate [0, k) then up [k, 2k); y = gq_silu_mul(gate, up) is
  // quantized. k, groups_per_row and the scale layout describe y.
  bool fuse_silu_and_mul = false;

  // Masked MoE layout: `experts` blocks of m rows each (m = T); expert e's
  // rows [clamp(masked_m[e], 0, m), m) are neither read nor written, packed
  // padding rows included. masked_m is read by the kernel (device memory
  // on GPUs), never by the host. Block e of x, q and s starts at
  // e * *_expert_stride (elements, elements, float/int32 words); within a
  // block everything is as for a 2-D problem of m rows. Not masked:
  // masked_m is null and experts 1.
  const int32_t* masked_m = nullptr;
  int64_t experts = 1;
  int64_t x_expert_stride = 0;
  int64_t q_expert_stride = 0;
  int64_t s_expert_stride = 0;

  bool empty() const { return m == 0 || k == 0 || experts == 0; }
  bool masked() const { return masked_m != nullptr; }
  // Needs the fused/masked kernels rather than the plain ones.
  bool fused_or_masked() const { return fuse_silu_and_mul || masked(); }
};

}  // namespace groupquant
