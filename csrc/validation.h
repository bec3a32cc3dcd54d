// Argument validation shared by every backend: each op's implementation calls
// its validator first and launches only on the QuantProblem it returns.
// Failures throw through STD_TORCH_CHECK (RuntimeError in Python) with the
// message "groupquant.<op>: <arg> must be <expected>, got <given>".
//
// What is checked (docs/contract.md, "Validation" and "Scale layouts"):
// - dtypes of every tensor; strided layout; all tensors on one device of the
//   type the calling backend serves (`device_type`).
// - input [*lead, K] with last stride 1 and leading dims collapsible to one
//   row stride; output_q the same shape, same rules, rows not overlapping.
// - output_s (strided ops): float32 [*lead, K/G] or [M, K/G], leading dims
//   collapsible, row-major (group stride 1, row stride >= K/G) or
//   column-major (row stride 1, group stride >= M).
// - output_s_packed: int32 [M, ceil(K/G/4)], row stride 1, column stride >=
//   round_up(M, 4); the padding rows of the last column must be in storage.
// - every byte the kernel touches lies inside the tensor's storage (64-bit,
//   overflow-checked arithmetic).
// - input, output_q and output scales touch pairwise disjoint byte ranges
//   (conservative: compares the [lowest, highest] touched byte of each).
// - group_size > 0 and K % group_size == 0; eps finite and >= 0; min/max
//   finite, min < max, max > 0, and both inside the output format's range
//   (so no backend ever depends on how out-of-range values convert).
// Empty problems (M == 0 or K == 0) pass every shape/dtype/device check and
// come back with QuantProblem::empty() true.
#pragma once

#include <cstdint>

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "csrc/quant_problem.h"

namespace groupquant {

// The fused and masked extensions every op takes (docs/fused_silu_moe.md):
// - fuse_silu_and_mul: input [*lead, 2H], output_q [*lead, H] (H % G == 0),
//   scales for the H / G groups of y = silu(gate) * up.
// - masked_m: int32 [E] on input's device, stride 1; input [E, T, K'],
//   output_q [E, T, H or K] with blocks that do not overlap; output_s
//   [E, T, K/G] whose per-expert block is a valid 2-D layout of M = T rows
//   (row- or column-major; packed int32 [E, T, ceil(K/G/4)] with row stride
//   1 and column stride >= round_up(T, 4)), expert blocks not overlapping.
//   Only pointers are checked: its values are read by the kernel, clamped.
// Hidden like the torch::stable::Tensor it points to (GCC warns otherwise).
struct __attribute__((visibility("hidden"))) FusedMasked {
  bool fuse_silu_and_mul = false;
  const torch::stable::Tensor* masked_m = nullptr;  // null: not masked
};

// per_token_group_fp8_quant: output_q float8_e4m3fn or float8_e4m3fnuz.
QuantProblem validate_fp8_quant(const torch::stable::Tensor& input,
                                const torch::stable::Tensor& output_q,
                                const torch::stable::Tensor& output_s,
                                int64_t group_size, double eps, double fp8_min,
                                double fp8_max, bool scale_ue8m0,
                                torch::headeronly::DeviceType device_type,
                                const FusedMasked& fm = {});

// per_token_group_quant_int8: output_q int8.
QuantProblem validate_int8_quant(const torch::stable::Tensor& input,
                                 const torch::stable::Tensor& output_q,
                                 const torch::stable::Tensor& output_s,
                                 int64_t group_size, double eps,
                                 double int8_min, double int8_max,
                                 torch::headeronly::DeviceType device_type,
                                 const FusedMasked& fm = {});

// per_token_group_quant_8bit_packed: output_q any of the three formats,
// output_s_packed int32 UE8M0 words; scales are always UE8M0.
QuantProblem validate_packed_quant(const torch::stable::Tensor& input,
                                   const torch::stable::Tensor& output_q,
                                   const torch::stable::Tensor& output_s_packed,
                                   int64_t group_size, double eps,
                                   double min_8bit, double max_8bit,
                                   torch::headeronly::DeviceType device_type,
                                   const FusedMasked& fm = {});

}  // namespace groupquant
